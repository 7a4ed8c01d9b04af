/**
 * `keyline device boot|fleet --protocol`: the flags and what a keyline.json says of the cloud
 * endpoints (firmware-sim/cli.ts bootOptionsFrom, cloudFromConfig).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootOptionsFrom, cloudFromConfig } from '../../firmware-sim/cli.js';

t.test('keyline.json: a fixed port is the endpoint, the only template and the ID scope are the defaults', async (t) => {
  const dir = t.testdir();
  let n = 0;
  const cfg = (c: unknown) => {
    const f = join(dir, `k${n++}.json`);
    writeFileSync(f, JSON.stringify(c));
    return f;
  };
  const fixed = cfg({ awsFleet: { host: '10.0.0.5', port: 8884, templates: { factory: {} } }, dps: { port: 8885, idScope: '0ne00ABCDEF' } });
  t.same(cloudFromConfig(fixed, 'aws-fleet'), { url: 'mqtts://10.0.0.5:8884', template: 'factory' });
  t.same(cloudFromConfig(fixed, 'dps'), { url: 'mqtts://127.0.0.1:8885', idScope: '0ne00ABCDEF' });
  const free = cfg({ awsFleet: { port: 0, templates: { a: {}, b: {} } }, dps: { idScope: 'S' } });
  t.same(cloudFromConfig(free, 'aws-fleet'), {}, 'port 0: only the server knows; two templates: none is the default');
  t.same(cloudFromConfig(cfg({}), 'dps'), {}, 'no section');

  const o = bootOptionsFrom({ config: fixed, protocol: 'dps' });
  t.match(o, { protocol: 'dps', brokerUrl: 'mqtts://127.0.0.1:8885', idScope: '0ne00ABCDEF' });
  t.notOk('template' in o);
  t.match(bootOptionsFrom({ config: fixed, protocol: 'aws-fleet', template: 'other', broker: 'mqtts://h:1' }), { protocol: 'aws-fleet', template: 'other', brokerUrl: 'mqtts://h:1' }, 'flags win');
  t.notOk('protocol' in bootOptionsFrom({ config: fixed }), 'keyline by default');
  t.equal(bootOptionsFrom({ config: fixed, protocol: 'keyline' }).brokerUrl, undefined, 'the Keyline protocol does not take a cloud endpoint');
});

t.test('flag errors', async (t) => {
  t.throws(() => bootOptionsFrom({ protocol: 'mqtt-sn' }), /--protocol must be keyline, aws-fleet, dps/);
  t.throws(() => bootOptionsFrom({ protocol: 'dps', template: 'x' }), /--template goes with --protocol aws-fleet/);
  t.throws(() => bootOptionsFrom({ protocol: 'aws-fleet', 'id-scope': 'x' }), /--id-scope goes with --protocol dps/);
  t.throws(() => bootOptionsFrom({ protocol: 'dps', mqtt: '5' }), /MQTT 3.1.1 only/);
});
