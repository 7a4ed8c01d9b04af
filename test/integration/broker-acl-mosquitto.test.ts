/**
 * The generated Mosquitto ACL enforced by a real Mosquitto: a device (by client id, the weaker
 * no-certificate mode) that subscribes with a wildcard receives no other device's answers, and
 * cannot publish a request in another device's name. Mosquitto 2 checks read access on every
 * delivery, not only at SUBSCRIBE; this test pins that behaviour down.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { mosquittoAcl } from '../../server/enroll/acl.js';
import { freePort } from '../helpers/net.js';

const haveMosquitto = spawnSync('sh', ['-c', 'command -v mosquitto || test -x /usr/sbin/mosquitto']).status === 0;

t.test('wildcard subscriptions and foreign publishes get nothing through', { skip: haveMosquitto ? false : 'mosquitto not installed' }, async (t) => {
  const dir = t.testdir();
  const port = await freePort();
  writeFileSync(join(dir, 'acl'), mosquittoAcl({ serviceUser: 'svc', clientIdDevices: true }));
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\nacl_file ${join(dir, 'acl')}\n`);
  const bin = spawnSync('sh', ['-c', 'command -v mosquitto || echo /usr/sbin/mosquitto']).stdout.toString().trim();
  const broker = spawn(bin, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  t.teardown(() => { broker.kill('SIGKILL'); });
  const connect = async (clientId: string, username?: string) => {
    for (let i = 0; ; i++) {
      try {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, ...(username ? { username } : {}), reconnectPeriod: 0, connectTimeout: 2000 });
        t.teardown(() => c.endAsync(true));
        return c;
      } catch (err) {
        if (i > 40) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
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
