/**
 * Azure DPS device registration against Keyline (issue 16), driven by Microsoft's own Node
 * device client, unmodified (azure-iot-provisioning-device 1.9.1 + -mqtt 1.8.1 +
 * azure-iot-security-x509 1.7.12), with only its host, port and trust root pointed at the real
 * server (SoftHSM, SQLite, units issued and confirmed through the station API): register → 202
 * → poll → 200 assigned with the group's signed configuration; every refusal; throttling; a
 * revoked unit; two devices at once with a third one listening; a replica restart mid-registration.
 */
import t, { type Test } from 'tap';
import { verify, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { canonicalConfigBytes } from '../../common/protocol/enrollment.js';
import { startServer } from '../../server/main.js';
import { DEV_ID_SCOPE } from '../../server/ceremony/dev-config.js';
import { makeDevPki } from '../helpers/pki.js';
import { freePort } from '../helpers/net.js';
import { officerFor, startTestServer } from '../helpers/server.js';
import { issueCloudDevices, type CloudTestDevice } from '../helpers/cloud-devices.js';
import { dpsClient as sdkDpsClient } from '../helpers/cloud-sdk-clients.js';
import { openServerStore } from '../server/enroll/server-bed.js';

const pki = await makeDevPki(t);
const rootPem = readFileSync(pki.rootCertPath, 'utf8');
const server = await startTestServer(t, pki);
const store = openServerStore(t, pki);
const dpsPort = (url: string) => Number(new URL(url).port);

const dpsClient = (port: number, dev: CloudTestDevice, o: { scope?: string; registrationId?: string } = {}) => sdkDpsClient(port, rootPem, dev, o);

/** A raw MQTT connection with a device's certificate (for what the SDK never sends, and to listen in). */
async function rawDevice(t: Test, port: number, dev: CloudTestDevice, o: { scope?: string; username?: string; clientId?: string } = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtts://localhost:${port}`, {
    protocolVersion: 4, clientId: o.clientId ?? dev.serial, username: o.username ?? `${o.scope ?? DEV_ID_SCOPE}/registrations/${dev.serial}/api-version=2019-03-31`,
    cert: dev.chainPem, key: dev.keyPem, ca: rootPem, reconnectPeriod: 0, connectTimeout: 5000,
  });
  t.teardown(() => c.endAsync(true));
  return c;
}

/** The next message on `c`, as topic and JSON body. */
const nextMessage = (c: MqttClient) => new Promise<{ topic: string; body: Record<string, unknown> }>((resolve) => c.once('message', (topic, p) => resolve({ topic, body: JSON.parse(p.toString()) as Record<string, unknown> })));

t.test('keyline server prints the dps listener', async (t) => {
  t.match(server.dpsUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
});

t.test('the official client registers: 202 assigning, then 200 assigned with the full registration state and the signed configuration', async (t) => {
  const [dev] = await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-DPS-1');
  const client = dpsClient(dpsPort(server.dpsUrl!), dev!);
  client.setProvisioningPayload({ firmware: '1.2.3', modelId: 'dtmi:keyline:sensor;1' });
  const state = await client.register();
  t.match(state, {
    registrationId: dev!.serial, deviceId: dev!.serial, assignedHub: 'keyline-dev-hub.azure-devices.net', status: 'assigned', substatus: 'initialAssignment',
    createdDateTimeUtc: String, lastUpdatedDateTimeUtc: String, etag: String, x509: {},
    payload: { group: 'default', config: {}, configSignature: String, configSignerCertificate: String, reenrolled: false, devicePayload: { firmware: '1.2.3', modelId: 'dtmi:keyline:sensor;1' } },
  });
  // The device can check the document as a Keyline-protocol device does: the signer chains to the root.
  const payload = state.payload as { config: Record<string, unknown>; configSignature: string; configSignerCertificate: string };
  const signer = new X509Certificate(Buffer.from(payload.configSignerCertificate, 'base64'));
  t.ok(signer.verify(new X509Certificate(readFileSync(pki.issuingCertPath)).publicKey), 'config signer issued by the issuing CA');
  t.ok(verify('sha256', canonicalConfigBytes(payload.config), { key: signer.publicKey, dsaEncoding: 'der' }, Buffer.from(payload.configSignature, 'base64')), 'configuration signature');
  // Recorded and audited as an enrollment (the enrollment service's own records).
  t.match(await store.transaction((tx) => tx.enrollment.get(dev!.serial), { readOnly: true }), { serial: dev!.serial, method: 'mtls', group: 'default' });
  const story = await store.transaction((tx) => tx.audit.listBySubject([dev!.serial], 50), { readOnly: true });
  t.ok(story.some((r) => r.action === 'device.enrolled'), 'device.enrolled in the audit chain');

  const again = await dpsClient(dpsPort(server.dpsUrl!), dev!).register();
  t.match(again, { status: 'assigned', substatus: 'initialAssignment', createdDateTimeUtc: state.createdDateTimeUtc, payload: { reenrolled: true } }, 'a second registration keeps the first one\'s creation time');
});

t.test('refusals: unknown ID scope, another registration id, unconfirmed unit, no certificate, malformed requests', async (t) => {
  const [dev, unconfirmed] = [...await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-DPS-2'), ...await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-DPS-3', { confirm: false })];
  const port = dpsPort(server.dpsUrl!);
  await t.rejects(dpsClient(port, dev!, { scope: '0ne00000BAD' }).register(), /Not authorized/, 'unknown scope: CONNACK 5');
  await t.rejects(dpsClient(port, dev!, { registrationId: 'another-device' }).register(), /Not authorized/, 'registration id ≠ certificate CN: CONNACK 5');
  await t.rejects(dpsClient(port, unconfirmed!).register(), { name: 'DeviceNotFoundError' }, 'unit not confirmed by a station: 404');
  await t.rejects(mqtt.connectAsync(`mqtts://localhost:${port}`, { protocolVersion: 4, clientId: dev!.serial, username: `${DEV_ID_SCOPE}/registrations/${dev!.serial}/api-version=2019-03-31`, ca: rootPem, reconnectPeriod: 0 }), /Not authorized/, 'no client certificate: CONNACK 5');
  await t.rejects(rawDevice(t, port, dev!, { username: 'not-a-dps-username' }), /Not authorized/, 'username not a DPS registration');
  await t.rejects(mqtt.connectAsync(`mqtts://localhost:${port}`, { protocolVersion: 5, clientId: dev!.serial, cert: dev!.chainPem, key: dev!.keyPem, ca: rootPem, reconnectPeriod: 0 }), /Unsupported Protocol Version|protocol/i, 'MQTT 5: DPS speaks 3.1.1');

  const c = await rawDevice(t, port, dev!);
  t.same((await c.subscribeAsync('$dps/registrations/res/#', { qos: 1 })).map((g) => g.qos), [1], 'the response filter is granted');
  t.match(await c.subscribeAsync('#', { qos: 1 }).catch((e: { packet?: unknown }) => e.packet), { granted: [128] }, 'any other filter is refused (SUBACK 0x80)');
  let m = nextMessage(c);
  await c.publishAsync('$dps/registrations/PUT/iotdps-register/?$rid=r1', 'not json', { qos: 1 });
  t.match(await m, { topic: '$dps/registrations/res/400/?$rid=r1', body: { errorCode: 400004, trackingId: String, message: String, timestampUtc: String } });
  m = nextMessage(c);
  await c.publishAsync('$dps/registrations/PUT/iotdps-register/?$rid=r2', JSON.stringify({ registrationId: 'someone-else' }), { qos: 1 });
  t.match(await m, { topic: '$dps/registrations/res/400/?$rid=r2' }, 'a body naming another registration');
  m = nextMessage(c);
  await c.publishAsync('$dps/registrations/GET/iotdps-get-operationstatus/?$rid=r3&operationId=0123000000000000EE.x.y', ' ', { qos: 1 });
  t.match(await m, { topic: '$dps/registrations/res/404/?$rid=r3', body: { errorCode: 404001 } }, "another device's operation is not found");
  const closed = new Promise<void>((r) => c.once('close', () => r()));
  await c.publishAsync('devices/elsewhere', 'x', { qos: 0 });
  await closed;
  t.pass('a publish outside the DPS topics closes the connection');
});

t.test('a revoked unit is told its registration is disabled; a revoked certificate is refused at CONNECT', async (t) => {
  const [a, b] = await issueCloudDevices(t, pki, server.apiUrl, 2, 'WO-DPS-REV');
  const port = dpsPort(server.dpsUrl!);
  const officer = officerFor(t, pki, server.apiUrl);
  // The unit revoked by status only (as scrapping a unit marks it), then a certificate revocation.
  await store.transaction((tx) => tx.units.setStatus(a!.serial, 'revoked', { at: new Date().toISOString(), reason: 'test' }));
  const err = await dpsClient(port, a!).register().then(() => null, (e: { result?: unknown }) => e);
  t.match(err?.result, { status: 'disabled', registrationState: { registrationId: a!.serial, status: 'disabled', errorCode: 401003, errorMessage: /DEVICE_REVOKED/ } });
  const r = await officer.raw('POST', '/v1/revocations', { serial: b!.serial, reason: 'keyCompromise' });
  t.equal(r.status, 200, JSON.stringify(r.body));
  await t.rejects(dpsClient(port, b!).register(), /Not authorized/);
});

t.test('two devices at once: each gets its own answer; a third device subscribed to the reply topics receives nothing', async (t) => {
  const [a, b, c] = await issueCloudDevices(t, pki, server.apiUrl, 3, 'WO-DPS-TWO');
  const port = dpsPort(server.dpsUrl!);
  const listener = await rawDevice(t, port, c!);
  await listener.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
  const overheard: string[] = [];
  listener.on('message', (topic) => overheard.push(topic));
  const [ra, rb] = await Promise.all([dpsClient(port, a!).register(), dpsClient(port, b!).register()]);
  t.match(ra, { registrationId: a!.serial, deviceId: a!.serial, status: 'assigned' });
  t.match(rb, { registrationId: b!.serial, deviceId: b!.serial, status: 'assigned' });
  await new Promise((r) => setTimeout(r, 300));
  t.same(overheard, [], 'nothing reached the listening device');
});

t.test('throttling: 429 with retry-after, which the official client obeys', async (t) => {
  const devs = await issueCloudDevices(t, pki, server.apiUrl, 3, 'WO-DPS-THR');
  const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8')) as { dps: Record<string, unknown> };
  cfg.dps = { ...cfg.dps, pollAfterSeconds: 0, throttle: { registrationsPerMinute: 60, registrationBurst: 1, pollsPerTenSeconds: 2 } };
  const file = join(pki.outDir, 'keyline-throttled.json');
  writeFileSync(file, JSON.stringify(cfg));
  const throttled = await startServer({ configFile: file, env: { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'silent' } });
  t.teardown(() => throttled.close());
  const port = dpsPort(throttled.dpsUrl!);

  const raw = await rawDevice(t, port, devs[0]!);
  await raw.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
  const topics: string[] = [];
  const bodies: Array<Record<string, unknown>> = [];
  raw.on('message', (topic, p) => { topics.push(topic); bodies.push(JSON.parse(p.toString()) as Record<string, unknown>); });
  const body = JSON.stringify({ registrationId: devs[0]!.serial });
  await raw.publishAsync('$dps/registrations/PUT/iotdps-register/?$rid=1', body, { qos: 1 });
  await raw.publishAsync('$dps/registrations/PUT/iotdps-register/?$rid=2', body, { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  t.match(topics, [/^\$dps\/registrations\/res\/202\/\?\$rid=1&retry-after=0$/, /^\$dps\/registrations\/res\/429\/\?\$rid=2&retry-after=1$/], 'the second registration within the second is throttled');
  t.match(bodies[1], { errorCode: 429001 });
  const op = String(bodies[0]!.operationId);
  for (let i = 3; i <= 5; i++) await raw.publishAsync(`$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${i}&operationId=${op}`, ' ', { qos: 1 });
  await new Promise((r) => setTimeout(r, 500));
  t.match(topics.slice(2), [/res\/200\/\?\$rid=3$/, /res\/(200|202)\/\?\$rid=4/, /res\/429\/\?\$rid=5&retry-after=2$/], 'the third poll within 10 s is throttled');

  // Two official clients at once against one registration a second: one is told 429 and retries.
  const started = Date.now();
  const [r1, r2] = await Promise.all([dpsClient(port, devs[1]!).register(), dpsClient(port, devs[2]!).register()]);
  t.match([r1.status, r2.status], ['assigned', 'assigned']);
  t.ok(Date.now() - started >= 900, 'one of them waited for its retry-after');
});

t.test("reprovisioning per group: a device whose group changed is moved to its new group's hub (reset or migrate) or kept where it was (never)", async (t) => {
  const [reset, migrate, never] = await Promise.all(['WO-DPS-MOVE-R', 'WO-DPS-MOVE-M', 'WO-DPS-MOVE-N'].map((wo) => issueCloudDevices(t, pki, server.apiUrl, 1, wo).then((d) => d[0]!)));
  for (const dev of [reset, migrate, never]) t.match(await dpsClient(dpsPort(server.dpsUrl!), dev!).register(), { assignedHub: 'keyline-dev-hub.azure-devices.net', substatus: 'initialAssignment', payload: { group: 'default' } });

  // The line's config moves the three work orders to groups of their own, each with its policy.
  const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8')) as { enroll: Record<string, unknown>; dps: Record<string, unknown> };
  cfg.enroll = { ...cfg.enroll, groups: [['WO-DPS-MOVE-R', 'eu-reset'], ['WO-DPS-MOVE-M', 'eu-migrate'], ['WO-DPS-MOVE-N', 'eu-never']].map(([workOrder, group]) => ({ match: { workOrder }, group, config: { region: 'eu' } })) };
  cfg.dps = { ...cfg.dps, groups: { 'eu-reset': { assignedHub: 'hub-eu.azure-devices.net', reprovision: 'reset' }, 'eu-migrate': { assignedHub: 'hub-eu.azure-devices.net' }, 'eu-never': { assignedHub: 'hub-eu.azure-devices.net', reprovision: 'never' } } };
  const file = join(pki.outDir, 'keyline-groups.json');
  writeFileSync(file, JSON.stringify(cfg));
  const moved = await startServer({ configFile: file, env: { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'silent' } });
  t.teardown(() => moved.close());
  const port = dpsPort(moved.dpsUrl!);
  t.match(await dpsClient(port, reset!).register(), { assignedHub: 'hub-eu.azure-devices.net', substatus: 'deviceDataReset', payload: { group: 'eu-reset', config: { region: 'eu' } } });
  t.match(await dpsClient(port, migrate!).register(), { assignedHub: 'hub-eu.azure-devices.net', substatus: 'deviceDataMigrated', payload: { group: 'eu-migrate' } }, 'migrate is the default policy');
  t.match(await dpsClient(port, never!).register(), { assignedHub: 'keyline-dev-hub.azure-devices.net', substatus: 'initialAssignment' }, 'never: the first hub');
});

t.test('a replica restart mid-registration: the poll reaches the restarted replica and ends assigned; a poll reaches a replica that never saw the register', async (t) => {
  const [dev, other] = await issueCloudDevices(t, pki, server.apiUrl, 2, 'WO-DPS-RESTART');
  const port = await freePort();
  const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8')) as { dps: Record<string, unknown> };
  cfg.dps = { ...cfg.dps, port, pollAfterSeconds: 3 };
  const file = join(pki.outDir, 'keyline-replica.json');
  writeFileSync(file, JSON.stringify(cfg));
  const env = { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'silent' };
  let replica = await startServer({ configFile: file, env });
  t.teardown(() => replica.close());

  // The official client gets its 202 and waits 3 s to poll; the replica goes down meanwhile and
  // another one starts on the same port.
  const started = Date.now();
  const first = dpsClient(port, dev!).register();
  while (!(await store.transaction((tx) => tx.enrollment.get(dev!.serial), { readOnly: true }))) await new Promise((r) => setTimeout(r, 20));
  await replica.close();
  replica = await startServer({ configFile: file, env });
  t.ok(Date.now() - started < 3000, 'restarted before the device polled');
  t.match(await first, { registrationId: dev!.serial, status: 'assigned', payload: { group: 'default', configSignature: String } }, "the device's poll, on a new connection to the new replica, ends assigned");
  t.match(await store.transaction((tx) => tx.enrollment.get(dev!.serial), { readOnly: true }), { serial: dev!.serial, method: 'mtls' }, 'one enrollment record');

  // A raw device registers at one replica and polls the operation at another one.
  const a = await rawDevice(t, port, other!);
  await a.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
  const m = nextMessage(a);
  await a.publishAsync('$dps/registrations/PUT/iotdps-register/?$rid=reg', JSON.stringify({ registrationId: other!.serial }), { qos: 1 });
  const op = String((await m).body.operationId);
  const b = await rawDevice(t, dpsPort(server.dpsUrl!), other!);
  await b.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
  const polled = nextMessage(b);
  await b.publishAsync(`$dps/registrations/GET/iotdps-get-operationstatus/?$rid=poll&operationId=${op}`, ' ', { qos: 1 });
  t.match(await polled, { topic: '$dps/registrations/res/200/?$rid=poll', body: { operationId: op, status: 'assigned', registrationState: { registrationId: other!.serial } } });
});
