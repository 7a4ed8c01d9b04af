/**
 * The generated Mosquitto ACL enforced by a real Mosquitto: a device (by client id, the weaker
 * no-certificate mode) that subscribes with a wildcard receives no other device's answers, and
 * cannot publish a request in another device's name. Mosquitto 2 checks read access on every
 * delivery, not only at SUBSCRIBE; this test pins that behaviour down. Issue 11: with the lines
 * of `keyline broker conf`, Mosquitto also refuses retained, QoS 2 and oversized publishes.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { mosquittoAcl } from '../../server/enroll/acl.js';
import { mosquittoLimits } from '../../server/enroll/mosquitto-conf.js';
import { freePort } from '../helpers/net.js';

const haveMosquitto = spawnSync('sh', ['-c', 'command -v mosquitto || test -x /usr/sbin/mosquitto']).status === 0;

/** Starts Mosquitto with the generated ACL (and the limit lines when `limits`); returns a connect function. */
async function startMosquitto(t: Test, o: { limits?: boolean } = {}) {
  const dir = t.testdir();
  const port = await freePort();
  const lines = o.limits ? mosquittoLimits() : { global: [], listener: [] };
  writeFileSync(join(dir, 'acl'), mosquittoAcl({ serviceUser: 'svc', clientIdDevices: true }));
  writeFileSync(join(dir, 'm.conf'), [...lines.global, `listener ${port} 127.0.0.1`, ...lines.listener, 'allow_anonymous true', `acl_file ${join(dir, 'acl')}`, ''].join('\n'));
  const bin = spawnSync('sh', ['-c', 'command -v mosquitto || echo /usr/sbin/mosquitto']).stdout.toString().trim();
  const broker = spawn(bin, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  t.teardown(() => { broker.kill('SIGKILL'); });
  return async (clientId: string, username?: string) => {
    for (let i = 0; ; i++) {
      try {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, ...(username ? { username } : {}), reconnectPeriod: 0, connectTimeout: 2000 });
        c.on('error', () => undefined);
        t.teardown(() => c.endAsync(true));
        return c;
      } catch (err) {
        if (i > 40) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
}

t.test('wildcard subscriptions and foreign publishes get nothing through', { skip: haveMosquitto ? false : 'mosquitto not installed' }, async (t) => {
  const connect = await startMosquitto(t);
  const owner = await connect('0123AAAAAAAAAAAAEE');
  const snoop = await connect('0123BBBBBBBBBBBBEE');
  const service = await connect('keyline-enroll-1', 'svc');
  const got = { owner: [] as string[], snoop: [] as string[], service: [] as string[] };
  owner.on('message', (topic) => got.owner.push(topic));
  snoop.on('message', (topic) => got.snoop.push(topic));
  service.on('message', (topic) => got.service.push(topic));
  await owner.subscribeAsync('keyline/v1/devices/0123AAAAAAAAAAAAEE/enroll/res', { qos: 1 });
  await snoop.subscribeAsync('keyline/v1/devices/+/enroll/res', { qos: 1 });
  await service.subscribeAsync('keyline/v1/devices/+/enroll/req', { qos: 1 });

  await service.publishAsync('keyline/v1/devices/0123AAAAAAAAAAAAEE/enroll/res', 'answer', { qos: 1 });
  // A device publishing a request in another device's name is dropped by the broker.
  await snoop.publishAsync('keyline/v1/devices/0123AAAAAAAAAAAAEE/enroll/req', 'forged', { qos: 1 });
  await owner.publishAsync('keyline/v1/devices/0123AAAAAAAAAAAAEE/enroll/req', 'genuine', { qos: 1 });
  await new Promise((r) => setTimeout(r, 500));
  t.same(got.owner, ['keyline/v1/devices/0123AAAAAAAAAAAAEE/enroll/res'], 'the owner receives its answer');
  t.same(got.snoop, [], 'a wildcard subscriber receives no other device\'s answer');
  t.same(got.service, ['keyline/v1/devices/0123AAAAAAAAAAAAEE/enroll/req'], 'only the genuine request reaches the service');
});

t.test('issue 11: with `keyline broker conf` limits, retained, QoS 2 and oversized publishes disconnect their sender', { skip: haveMosquitto ? false : 'mosquitto not installed' }, async (t) => {
  const connect = await startMosquitto(t, { limits: true });
  const serial = '0123AAAAAAAAAAAAEE';
  const req = `keyline/v1/devices/${serial}/enroll/req`;
  const service = await connect('keyline-enroll-1', 'svc');
  const got: string[] = [];
  service.on('message', (topic, payload, packet) => got.push(`${topic} ${payload.length}${packet.retain ? ' retained' : ''}`));
  await service.subscribeAsync('keyline/v1/devices/+/enroll/req', { qos: 1 });

  const closed = (c: mqtt.MqttClient) => new Promise<void>((r) => c.once('close', () => r()));
  for (const [what, payload, opts] of [
    ['retained', Buffer.from('{}'), { qos: 1, retain: true }],
    ['QoS 2', Buffer.from('{}'), { qos: 2 }],
    ['64 KiB', Buffer.alloc(64 * 1024, 0x61), { qos: 1 }],
  ] as const) {
    const device = await connect(serial);
    const gone = closed(device);
    device.publish(req, payload, opts);
    await gone;
    t.pass(`${what}: disconnected`);
  }
  const device = await connect(serial);
  await device.publishAsync(req, 'genuine', { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  t.same(got, [`${req} 7`], 'only the genuine request reached the service');
  const later = await connect('keyline-enroll-2', 'svc');
  const retained: string[] = [];
  later.on('message', (topic) => retained.push(topic));
  await later.subscribeAsync('keyline/v1/devices/#', { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  t.same(retained, [], 'nothing retained for a later subscriber');
});
