/**
 * Enrollment end to end on the embedded broker: the real server (SoftHSM issuing CA and
 * config-signer key, SQLite, aedes on TLS with the server certificate), chips provisioned through
 * the real station API, devices signing in the emulated chip.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { toPem } from '../../common/pem.js';
import * as x509 from '../../common/x509.js';
import { makeDevPki } from '../helpers/pki.js';
import { startTestServer } from '../helpers/server.js';
import { chipDevice, MqttDevice } from '../server/enroll/device-client.js';
import { openServerStore, provisionViaServer } from '../server/enroll/server-bed.js';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { bootDevice } from '../../firmware-sim/boot.js';
import { trustFromFactoryConfig } from '../../firmware-sim/firmware-trust.js';

const pki = await makeDevPki(t);
const server = await startTestServer(t, pki, { KEYLINE_ENROLL_PORT: '0' });
const store = openServerStore(t, pki);
const ca = [readFileSync(pki.rootCertPath, 'utf8'), readFileSync(pki.issuingCertPath, 'utf8')];

t.test('the server prints an mqtts listener from this PKI', async (t) => {
  t.match(server.mqttUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
});

t.test('provisioned chip enrolls, re-authenticates; replay and unconfirmed refused', async (t) => {
  const chips = await provisionViaServer(t, pki, store, server.apiUrl, 2);
  const [a, b] = await Promise.all(chips.map((c) => chipDevice(c, store)));
  const d = await MqttDevice.connect(server.mqttUrl!, a!.serial, { ca });
  t.teardown(() => d.close());
  const hello = { type: 'hello', serial: a!.serial, deviceCertificate: Buffer.from(a!.certDer).toString('base64') };
  const ch = await d.request(hello);
  if (ch.type !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(ch)}`);
  const proof = await a!.prove(ch.nonce);
  const res = await d.request(proof);
  t.match(res, { type: 'enrolled', serial: a!.serial, group: 'default', reenrolled: false });
  if (res.type !== 'enrolled') return;

  // The config signer lives in the line token; OpenSSL checks its certificate against the PKI.
  const signerPem = join(pki.outDir, 'config-signer.pem');
  writeFileSync(signerPem, toPem(new Uint8Array(Buffer.from(res.configSignerCertificate, 'base64'))));
  t.match(execFileSync('openssl', ['verify', '-CAfile', pki.rootCertPath, '-untrusted', pki.issuingCertPath, signerPem], { encoding: 'utf8' }), /: OK/);

  t.match(await d.request(proof), { type: 'error', code: 'NONCE_INVALID' }, 'captured proof re-sent');
  const ch2 = await d.request(hello);
  if (ch2.type !== 'challenge') throw new Error('expected a challenge');
  t.match(await d.request(await a!.prove(ch2.nonce)), { type: 'enrolled', reenrolled: true }, 'second boot');
  t.match(await store.transaction((tx) => tx.enrollment.get(a!.serial), { readOnly: true }), { counter: proof.counter, method: 'challenge' });
  const audit = await store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 100_000 }), { readOnly: true });
  t.equal(audit.filter((r) => r.subject === a!.serial && r.action.startsWith('device.')).map((r) => r.action).join(), 'device.enrolled,device.reauthenticated');

  await store.transaction((tx) => tx.units.setStatus(b!.serial, 'issued', { at: new Date().toISOString() }));
  const db = await MqttDevice.connect(server.mqttUrl!, b!.serial, { ca });
  t.teardown(() => db.close());
  t.match(await db.request({ type: 'hello', serial: b!.serial, deviceCertificate: Buffer.from(b!.certDer).toString('base64') }), { type: 'error', code: 'UNIT_NOT_CONFIRMED' });
});

t.test('the device simulator (firmware-sim bootDevice) enrolls against the real server, then re-authenticates', async (t) => {
  const [chip] = await provisionViaServer(t, pki, store, server.apiUrl, 1, 'WO-SIM');
  const chipFile = join(pki.outDir, 'sim-chip.json');
  await saveChipImage(chip!, chipFile);
  const opts = { chipFile, brokerUrl: server.mqttUrl!, firstBootTrust: () => trustFromFactoryConfig(pki.configPath, 'Sensor') };
  const first = await bootDevice(opts);
  t.match(first, { outcome: 'enrolled', group: 'default', protocolVersion: 4 });
  const second = await bootDevice(opts);
  t.match(second, { outcome: 'reauthenticated' });
  t.ok(second.counter > first.counter, 'higher counter on the second boot');
});

t.test('a second server (replica on the same token and database) reuses the config-signer key and finishes a challenge the first one started', async (t) => {
  const replica = await startTestServer(t, pki, { KEYLINE_ENROLL_PORT: '0' });
  t.not(replica.mqttUrl, server.mqttUrl);
  const [chip] = await provisionViaServer(t, pki, store, server.apiUrl, 1, 'WO-REPLICA');
  const a = await chipDevice(chip!, store);
  const d1 = await MqttDevice.connect(server.mqttUrl!, a.serial, { ca });
  t.teardown(() => d1.close());
  const ch = await d1.request({ type: 'hello', serial: a.serial, deviceCertificate: Buffer.from(a.certDer).toString('base64') });
  if (ch.type !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(ch)}`);
  await d1.close();
  const d2 = await MqttDevice.connect(replica.mqttUrl!, a.serial, { ca });
  t.teardown(() => d2.close());
  const res = await d2.request(await a.prove(ch.nonce));
  t.match(res, { type: 'enrolled', reenrolled: false }, 'the nonce from server 1 is accepted by server 2');
  if (res.type !== 'enrolled') return;
  const spki = (b64: string) => Buffer.from(new x509.X509Certificate(Buffer.from(b64, 'base64')).publicKey.rawData).toString('hex');
  // Server 1's signer certificate, from a re-authentication through its own broker.
  const d3 = await MqttDevice.connect(server.mqttUrl!, a.serial, { ca });
  t.teardown(() => d3.close());
  const ch3 = await d3.request({ type: 'hello', serial: a.serial, deviceCertificate: Buffer.from(a.certDer).toString('base64') });
  if (ch3.type !== 'challenge') throw new Error('expected a challenge');
  const res1 = await d3.request(await a.prove(ch3.nonce));
  if (res1.type !== 'enrolled') throw new Error(`expected enrolled, got ${JSON.stringify(res1)}`);
  t.equal(spki(res1.configSignerCertificate), spki(res.configSignerCertificate), 'one config-signer key in the token');
});
