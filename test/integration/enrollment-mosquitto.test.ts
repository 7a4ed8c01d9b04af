/**
 * Enrollment through an external Mosquitto (started here on a free port): TLS with the server
 * certificate from the dev PKI, require_certificate + use_identity_as_username, and the ACL from
 * `keyline broker acl`. The server connects as its service identity over MQTT 5 (shared
 * subscriptions, response topic + correlation data); devices present certificates with CN = serial.
 */
import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { enrollMtlsTopic, enrollResponseTopic } from '../../common/protocol/enrollment.js';
import { makeDevPki } from '../helpers/pki.js';
import { issueStationIdentity, startTestServer } from '../helpers/server.js';
import { chipDevice, MqttDevice } from '../server/enroll/device-client.js';
import { openServerStore, provisionViaServer } from '../server/enroll/server-bed.js';
import { softDevice } from '../server/enroll/mtls-identity.js';
import { toCert } from '../../server/ca/chain.js';
import { Pkcs11KeyStore } from '../../server/hsm/pkcs11-key-store.js';
import { MqttBroker } from '../../server/enroll/mqtt-broker.js';
import { brokerSuite } from '../server/enroll/broker.suite.js';
import { freePort } from '../helpers/net.js';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
if (!MOSQUITTO) {
  t.plan(0, 'mosquitto is not installed');
  process.exit(0);
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = createConnection(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port}`);
    await sleep(50);
  }
}

const pki = await makeDevPki(t);
const dir = pki.outDir;
const w = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const rootPem = readFileSync(pki.rootCertPath, 'utf8');
const issuingPem = readFileSync(pki.issuingCertPath, 'utf8');
const ca = [rootPem, issuingPem];

// The service identity: a clientAuth certificate from the issuing CA, CN = the ACL's service user.
const service = await issueStationIdentity(pki, { id: 'keyline-enroll' });
const acl = execFileSync(process.execPath, [resolve(import.meta.dirname, '../../bin/keyline.js'), 'broker', 'acl', '--service-user', 'keyline-enroll'], { encoding: 'utf8' });
const port = await freePort();
const conf = w('mosquitto.conf', [
  // Run as root, mosquitto would drop to user 'mosquitto', who cannot read the test's folder.
  `user ${userInfo().username}`,
  'per_listener_settings false', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning',
  `listener ${port} 127.0.0.1`,
  `cafile ${w('mosq-ca.pem', rootPem + issuingPem)}`,
  `certfile ${w('mosq-server.pem', readFileSync(pki.serverCertPath, 'utf8') + issuingPem)}`,
  `keyfile ${pki.serverKeyPath}`,
  'require_certificate true', 'use_identity_as_username true',
  `acl_file ${w('mosquitto.acl', acl)}`,
  '',
].join('\n'));
const mosq = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
let mosqLog = '';
mosq.stderr.setEncoding('utf8').on('data', (c: string) => (mosqLog += c));
t.teardown(() => void mosq.kill('SIGTERM'));
await waitForPort(port, 5000).catch((err: Error) => {
  throw new Error(`${err.message}\n${mosqLog}`);
});

const config = JSON.parse(readFileSync(pki.configPath, 'utf8'));
config.enroll = { broker: `mqtts://127.0.0.1:${port}`, clientCert: w('enroll-service.pem', service.cert), clientKey: w('enroll-service.key.pem', service.key), protocolVersion: 5 };
const configPath = w('keyline-mosquitto.json', JSON.stringify(config, null, 2));
const server = await startTestServer(t, { ...pki, configPath });
const store = openServerStore(t, pki);
// softDevice needs an Issuer: the issuing key from the line token (the server holds its own session).
const ks = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin: readFileSync(pki.linePinPath, 'utf8').trim(), sessions: 1 });
t.teardown(() => ks.close());
const issuer = { signer: await ks.getSigner(pki.issuingKeyRef), cert: toCert(pki.issuingDer) };

/** A TLS identity (CN = serial) for a chip device: Mosquitto requires a certificate from every client. */
async function tlsIdentity(serial: string) {
  return issueStationIdentity(pki, { id: serial });
}

t.test('Broker suite: MqttBroker on Mosquitto as the service identity (MQTT 5)', async (t) => {
  await brokerSuite(t, () => MqttBroker.connect({ url: `mqtts://127.0.0.1:${port}`, protocolVersion: 5, tls: { ca, cert: service.cert, key: service.key } }), { v5: true });
});

t.test('the server reports the external broker', async (t) => {
  t.equal(server.mqttUrl, `mqtts://127.0.0.1:${port}`);
});

t.test('signed challenge over MQTT 5 through Mosquitto; correlation data echoed; replay refused', async (t) => {
  const [chip] = await provisionViaServer(t, pki, store, server.apiUrl, 1);
  const a = await chipDevice(chip!, store);
  const id = await tlsIdentity(a.serial);
  const d = await MqttDevice.connect(server.mqttUrl!, a.serial, { ca, cert: id.cert, key: id.key, protocolVersion: 5 });
  t.teardown(() => d.close());
  const cd = Buffer.from('corr-1');
  const ch = await d.request({ type: 'hello', serial: a.serial, deviceCertificate: Buffer.from(a.certDer).toString('base64') }, { correlationData: cd });
  t.equal(ch.type, 'challenge', JSON.stringify(ch));
  t.same(d.correlationData.at(-1), cd, 'MQTT 5 correlation data echoed');
  if (ch.type !== 'challenge') return;
  const proof = await a.prove(ch.nonce);
  t.match(await d.request(proof), { type: 'enrolled', serial: a.serial, reenrolled: false });
  t.match(await d.request(proof), { type: 'error', code: 'NONCE_INVALID' }, 'captured proof re-sent');
});

t.test("ACL: a device neither reads another device's answers nor publishes on its topics", async (t) => {
  const victim = await softDevice(issuer, store, { workOrder: 'WO-E' });
  const intruderId = await tlsIdentity('0199AABBCCDDEEFF00');
  const intruder = await MqttDevice.connect(server.mqttUrl!, '0199AABBCCDDEEFF00', { ca, cert: intruderId.cert, key: intruderId.key, protocolVersion: 5, subscribe: false });
  t.teardown(() => intruder.close());
  const seen: string[] = [];
  intruder.client.on('message', (topic) => seen.push(topic));
  // Mosquitto's acl_file may grant the SUBSCRIBE and filter at delivery (read access per message).
  await intruder.client.subscribeAsync(enrollResponseTopic(victim.serial), { qos: 1 }).catch(() => undefined);
  await intruder.client.subscribeAsync('keyline/v1/devices/+/enroll/res', { qos: 1 }).catch(() => undefined);
  await intruder.client.publishAsync(enrollMtlsTopic(victim.serial), JSON.stringify({ type: 'enroll', serial: victim.serial }), { qos: 1 }).catch(() => undefined);
  await sleep(300);
  t.equal(await store.transaction((tx) => tx.enrollment.get(victim.serial), { readOnly: true }), null, "the intruder's enroll for the victim never reached the service");

  const v = await MqttDevice.connect(server.mqttUrl!, victim.serial, { ca, cert: victim.cert, key: victim.key, protocolVersion: 5 });
  t.teardown(() => v.close());
  t.match(await v.request({ type: 'enroll', serial: victim.serial }, { topic: enrollMtlsTopic(victim.serial) }), { type: 'enrolled' }, 'the victim enrolls');
  await sleep(300);
  t.same(seen, [], "the victim's answer was not delivered to the intruder");
});

t.test('mTLS: the broker-verified identity enrolls through enroll/mtls', async (t) => {
  const sd = await softDevice(issuer, store, { workOrder: 'WO-E' });
  const d = await MqttDevice.connect(server.mqttUrl!, sd.serial, { ca, cert: sd.cert, key: sd.key, protocolVersion: 5 });
  t.teardown(() => d.close());
  t.match(await d.request({ type: 'enroll', serial: sd.serial }, { topic: enrollMtlsTopic(sd.serial) }), { type: 'enrolled', serial: sd.serial, reenrolled: false });
  t.match(await store.transaction((tx) => tx.enrollment.get(sd.serial), { readOnly: true }), { method: 'mtls', counter: null });
});

t.test('MQTT 3.1.1 device through Mosquitto uses the correlationId fallback', async (t) => {
  const sd = await softDevice(issuer, store, { workOrder: 'WO-E' });
  const d = await MqttDevice.connect(server.mqttUrl!, sd.serial, { ca, cert: sd.cert, key: sd.key, protocolVersion: 4 });
  t.teardown(() => d.close());
  const r = await d.request({ type: 'enroll', serial: sd.serial }, { topic: enrollMtlsTopic(sd.serial) });
  t.match(r, { type: 'enrolled' });
  t.ok(r.correlationId);
});

t.teardown(() => {
  if (process.env.KEYLINE_TEST_LOG) process.stderr.write(mosqLog);
});
