import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootOptionsFrom, brokerFromConfig, main } from '../../firmware-sim/cli.js';

t.test('the broker a keyline.json names for devices', async (t) => {
  const dir = t.testdir();
  const cfg = (enroll: unknown) => {
    const f = join(dir, `k${Math.random()}.json`);
    writeFileSync(f, JSON.stringify(enroll === undefined ? {} : { enroll }));
    return f;
  };
  t.equal(brokerFromConfig(cfg({ broker: 'mqtts://broker.example:8883' })), 'mqtts://broker.example:8883', 'external broker');
  t.equal(brokerFromConfig(cfg({ broker: 'embedded', host: '10.0.0.5', port: 8883 })), 'mqtts://10.0.0.5:8883', 'embedded on a fixed port');
  t.equal(brokerFromConfig(cfg({ broker: 'embedded', port: 0 })), undefined, 'embedded on any free port: only the server knows');
  t.equal(brokerFromConfig(cfg(undefined)), undefined, 'no enroll section');
  const o = bootOptionsFrom({ config: cfg({ broker: 'mqtts://b:1' }), broker: 'mqtts://override:2' });
  t.equal(o.brokerUrl, 'mqtts://override:2', '--broker wins');
  t.equal(o.protocolVersion, 'auto');
  t.ok(o.firstBootTrust, 'first-boot trust comes from the config');
  t.throws(() => bootOptionsFrom({ broker: 'http://x' }), /mqtts/);
  t.throws(() => bootOptionsFrom({ mqtt: '4' }), /--mqtt/);
  t.throws(() => bootOptionsFrom({ config: join(dir, 'missing.json') }), /no such file/);
});

t.test('usage errors exit 2', async (t) => {
  // (stdout carries TAP here: only cases that write to stderr)
  const err = process.stderr.write;
  let said = '';
  process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
  try {
    t.equal(await main(['boot']), 2, '--chip missing');
    t.equal(await main(['fleet', '--chips', t.testdir()]), 2, 'no chip images');
    t.equal(await main(['reboot']), 2);
  } finally {
    process.stderr.write = err;
  }
  t.match(said, /--chip is required/);
  t.match(said, /no chip images/);
});
