/**
 * Issue 11, hole 4, from outside: the real `keyline server` in a child process and its embedded
 * broker over TLS. A device connected with its certificate keeps its client id against any
 * connection without the certificate, also once it is offline and after a server restart; an
 * arbitrary serial gets nowhere; a certificate-less connection never displaces another; a
 * certificate device displaces a certificate-less squatter on its id and enrolls at once.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { enrollMtlsTopic } from '../../common/protocol/enrollment.js';
import { toCert } from '../../server/ca/chain.js';
import { loadConfigWithoutSecrets } from '../../server/config.js';
import { Pkcs11KeyStore } from '../../server/hsm/pkcs11-key-store.js';
import { openStore } from '../../server/store/open-store.js';
import { makeDevPki } from '../helpers/pki.js';
import { buildUnit, buildWorkOrder } from '../server/store/build.js';
import { MqttDevice } from '../server/enroll/device-client.js';
import { softDevice, type SoftDevice } from '../server/enroll/mtls-identity.js';
import { within } from '../server/enroll/raw-mqtt.js';
import { spawnKeyline } from './keyline-child.js';

const pki = await makeDevPki(t);
const config = loadConfigWithoutSecrets(pki.configPath);
const ca = [readFileSync(pki.rootCertPath, 'utf8'), readFileSync(pki.issuingCertPath, 'utf8')];

// Device identities from the line token's issuing CA, recorded in the server's database, before
// the server starts (one process holds the token at a time).
const keyStore = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin: readFileSync(pki.linePinPath, 'utf8').trim(), sessions: 1 });
const store = await openStore(config.store.url);
let device: SoftDevice;
let squatted: SoftDevice;
const plain = buildUnit({ status: 'confirmed', confirmedAt: '2026-01-01T00:00:00.000Z' });
try {
  await store.transaction((tx) => tx.workOrders.create(buildWorkOrder({ id: 'WO-1' })));
  const issuer = { signer: await keyStore.getSigner(pki.issuingKeyRef), cert: toCert(pki.issuingDer) };
  device = await softDevice(issuer, store);
  squatted = await softDevice(issuer, store);
  await store.transaction((tx) => tx.units.insert(plain));
} finally {
  await store.close();
  await keyStore.close();
}

/** Connects with mqtt.js; the client, or the CONNACK refusal code. */
async function attempt(url: string, clientId: string, o: Partial<IClientOptions> = {}): Promise<{ client?: MqttClient; code: number }> {
  try {
    const client = await mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ca, rejectUnauthorized: true, ...o } as IClientOptions);
    client.on('error', () => undefined);
    t.teardown(() => client.endAsync(true));
    return { client, code: 0 };
  } catch (err) {
    return { code: typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1 };
  }
}
const enroll = (d: MqttDevice, serial: string) => d.request({ type: 'enroll', serial }, { topic: enrollMtlsTopic(serial) });

t.test('issue 11 hole 4 against keyline server: no takeover of a client id without its certificate', async (t) => {
  let server = await spawnKeyline(t, pki.configPath);

  const d = await MqttDevice.connect(server.mqttUrl, device.serial, { ca, cert: device.cert, key: device.key });
  t.equal((await attempt(server.mqttUrl, device.serial)).code, 5, 'anonymous with the device\'s id while it is connected: CONNACK 0x05');
  await new Promise((r) => setTimeout(r, 100));
  if (t.ok(d.client.connected, 'the device stays connected')) {
    t.match(await enroll(d, device.serial), { type: 'enrolled', serial: device.serial }, 'and enrolls');
  }
  await d.close();
  t.equal((await attempt(server.mqttUrl, device.serial)).code, 5, 'refused once the device is offline');

  await server.stop();
  server = await spawnKeyline(t, pki.configPath);
  t.equal((await attempt(server.mqttUrl, device.serial)).code, 5, 'refused after a server restart');

  t.equal((await attempt(server.mqttUrl, '01FFFFFFFFFFFFFF77')).code, 5, 'an arbitrary serial: CONNACK 0x05');

  const first = await attempt(server.mqttUrl, plain.serial);
  t.equal(first.code, 0, 'a provisioned unit without a certificate connects');
  t.equal((await attempt(server.mqttUrl, plain.serial)).code, 2, 'a second connection with its id: CONNACK 0x02');
  await new Promise((r) => setTimeout(r, 100));
  t.ok(first.client!.connected, 'the first stays connected');

  const squatter = await attempt(server.mqttUrl, squatted.serial);
  t.equal(squatter.code, 0, 'a squatter takes a never-bound id without a certificate');
  const gone = new Promise<void>((r) => squatter.client!.once('close', () => r()));
  const owner = await MqttDevice.connect(server.mqttUrl, squatted.serial, { ca, cert: squatted.cert, key: squatted.key });
  t.teardown(() => owner.close());
  t.ok(await within(gone, 3000), 'the certificate device displaces the squatter');
  t.match(await enroll(owner, squatted.serial), { type: 'enrolled', serial: squatted.serial }, 'and enrolls');
  t.equal((await attempt(server.mqttUrl, squatted.serial)).code, 5, 'the squatter cannot come back');
});
