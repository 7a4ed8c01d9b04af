/**
 * AWS IoT Fleet Provisioning against Keyline (issue 16), driven by AWS's own device SDK,
 * unmodified: aws-iot-device-sdk-v2 1.28.0's IotIdentityClientv2 over MQTT 3.1.1 (and MQTT 5),
 * its native aws-crt client doing the TLS (it always offers ALPN x-amzn-mqtt-ca and sends a
 * metrics username), pointed at the real server (SoftHSM, SQLite, units issued and confirmed
 * through the station API) with only its endpoint, port and trust root changed. The line
 * certificate is the claim: CreateCertificateFromCsr with the chip's key or a second chip key →
 * a pending certificate and a single-use token; RegisterThing → the certificate becomes the
 * unit's, the enrollment recorded, the group's configuration as deviceConfiguration. Every
 * rejection AWS names, the pre-provisioning hook, token expiry, two devices at once with a third
 * listening, ALPN, CBOR.
 */
import t, { type Test } from 'tap';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import type { iotidentity } from 'aws-iot-device-sdk-v2';
import { canonicalConfigBytes } from '../../common/protocol/enrollment.js';
import { startServer } from '../../server/main.js';
import { DEV_FLEET_TEMPLATE } from '../../server/ceremony/dev-config.js';
import { awsFleetConfigSchema } from '../../server/cloud-enroll/cloud-enroll-config.js';
import { decodeCbor } from '../../server/cloud-enroll/aws-fleet/cbor.js';
import { makeDevPki } from '../helpers/pki.js';
import { officerFor, startTestServer } from '../helpers/server.js';
import { csrPem, issueCloudDevices, secondKeyPem, type CloudTestDevice } from '../helpers/cloud-devices.js';
import { fleetIdentityClient } from '../helpers/cloud-sdk-clients.js';
import { openServerStore } from '../server/enroll/server-bed.js';
import type { Mqtt5DeviceRequest } from '../helpers/aws-mqtt5-device.js';

const MQTT5_DEVICE = fileURLToPath(new URL('../helpers/aws-mqtt5-device.ts', import.meta.url));

const pki = await makeDevPki(t);
const rootPem = readFileSync(pki.rootCertPath, 'utf8');
const issuing = new X509Certificate(readFileSync(pki.issuingCertPath));
const server = await startTestServer(t, pki);
const store = openServerStore(t, pki);
const fleetPort = (url: string) => Number(new URL(url).port);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const csrOf = (dev: CloudTestDevice, keyPem = dev.keyPem) => csrPem(pki.outDir, keyPem, dev.serial);

const identityClient = (t: Test, port: number, cert: string, key: string, clientId: string) => fleetIdentityClient(t, port, rootPem, cert, key, clientId);

/** The rejected payload of a request the SDK reports as a ServiceError. */
const rejected = (p: Promise<unknown>) => p.then(() => { throw new Error('accepted'); }, (e: { modeledError?: unknown }) => e.modeledError);

/** A raw MQTT connection with a device's certificate (what the SDK never sends, and to listen in). */
async function rawDevice(t: Test, port: number, dev: CloudTestDevice, o: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtts://localhost:${port}`, { protocolVersion: 4, clientId: `raw-${dev.serial}`, cert: dev.certPem, key: dev.keyPem, ca: rootPem, reconnectPeriod: 0, connectTimeout: 5000, ...o });
  t.teardown(() => c.endAsync(true));
  return c;
}

/** Checks a certificate the endpoint issued: CN, issuer, certificateId = lowercase hex SHA-256 of the DER. */
function checkIssued(t: Test, created: iotidentity.model.CreateCertificateFromCsrResponse, serial: string): X509Certificate {
  const cert = new X509Certificate(created.certificatePem!);
  t.equal(created.certificateId, sha256(cert.raw), 'certificateId: SHA-256 of the DER');
  t.match(created.certificateId, /^[0-9a-f]{64}$/, 'lowercase hex');
  t.match(cert.subject, new RegExp(`CN=${serial}`), 'CN = the chip serial');
  t.ok(cert.verify(issuing.publicKey), 'issued by the issuing CA');
  t.match(created.certificateOwnershipToken, /^[A-Za-z0-9_-]{43}$/, 'an ownership token');
  return cert;
}

t.test('keyline server prints the aws-fleet listener', async (t) => {
  t.match(server.awsFleetUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
});

t.test('CreateCertificateFromCsr with a second chip key: a pending certificate; RegisterThing activates it and answers the configuration', async (t) => {
  const [dev] = await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-AWS-1');
  const id = await identityClient(t, fleetPort(server.awsFleetUrl!), dev!.certPem, dev!.keyPem, `thing-${dev!.serial}`);
  const key2 = secondKeyPem();
  const created = await id.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev!, key2) });
  const cert = checkIssued(t, created, dev!.serial);
  t.notOk('privateKey' in created && created.privateKey, 'no private key: the key stays in the chip');

  // Pending (AWS's PENDING_ACTIVATION): the unit still holds its line certificate.
  const unit = () => store.transaction((tx) => tx.units.getBySerial(dev!.serial), { readOnly: true });
  t.match(await unit(), { fingerprintSha256: dev!.fingerprint, certificateSerial: dev!.certificateSerial }, "pending: not the unit's certificate yet");
  t.equal(await store.transaction((tx) => tx.enrollment.get(dev!.serial), { readOnly: true }), null, 'not enrolled yet');

  const thing = await id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: created.certificateOwnershipToken!, parameters: { SerialNumber: dev!.serial } });
  t.equal(thing.thingName, `Sensor-${dev!.serial}`, "the template's thing name: {product}-{serial}");
  const conf = thing.deviceConfiguration!;
  t.ok(Object.values(conf).every((v) => typeof v === 'string'), 'deviceConfiguration is a flat map of strings');
  t.match(conf, { 'keyline.group': 'default', 'keyline.config': '{}', 'keyline.reenrolled': 'false', 'keyline.configSignature': String, 'keyline.configSignerCertificate': String });
  const signer = new X509Certificate(Buffer.from(conf['keyline.configSignerCertificate']!, 'base64'));
  t.ok(signer.verify(issuing.publicKey), 'config signer issued by the issuing CA');
  t.ok(verify('sha256', canonicalConfigBytes(JSON.parse(conf['keyline.config']!) as Record<string, unknown>), { key: signer.publicKey, dsaEncoding: 'der' }, Buffer.from(conf['keyline.configSignature']!, 'base64')), 'the configuration is signed');

  // Active: the unit's certificate and key, the line certificate superseded and revoked, the enrollment recorded and audited.
  const after = await unit();
  t.equal(after!.fingerprintSha256, created.certificateId, "the unit's certificate now");
  t.equal(Buffer.from(after!.publicKey).toString('hex'), cert.publicKey.export({ format: 'der', type: 'spki' }).subarray(27).toString('hex'), 'with the second key');
  t.match(await store.transaction((tx) => tx.revocations.get(dev!.certificateSerial), { readOnly: true }), { reason: 'superseded' }, 'the claim (line) certificate is revoked as superseded');
  t.match(await store.transaction((tx) => tx.enrollment.get(dev!.serial), { readOnly: true }), { serial: dev!.serial, method: 'mtls', group: 'default' });
  const actions = (await store.transaction((tx) => tx.audit.listBySubject([dev!.serial], 50), { readOnly: true })).map((r) => r.action);
  for (const a of ['unit.certificate-pending', 'device.enrolled', 'unit.reenrolled', 'aws-fleet.thing-registered']) t.ok(actions.includes(a), `audited: ${a}`);

  // As AWS's flow says, the device reconnects with its new certificate; the old one is refused.
  const again = await identityClient(t, fleetPort(server.awsFleetUrl!), created.certificatePem!, key2, `thing-${dev!.serial}-2`);
  t.pass('the new certificate connects');
  await t.rejects(identityClient(t, fleetPort(server.awsFleetUrl!), dev!.certPem, dev!.keyPem, `thing-${dev!.serial}-3`), 'the superseded certificate is refused');

  // Fleet Provisioning run again (a device reset): the current key keeps its certificate; the superseded key is never certified again.
  const re = await again.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev!, key2) });
  t.equal(re.certificateId, created.certificateId, 'the current key: the current certificate');
  await again.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: re.certificateOwnershipToken!, parameters: {} });
  t.equal((await unit())!.fingerprintSha256, created.certificateId, 'still the unit\'s certificate');
  t.match(await rejected(again.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev!) })), { statusCode: 400, errorMessage: /KEY_REUSE_NOT_ALLOWED/ }, 'the superseded key');
});

t.test("CreateCertificateFromCsr with the chip's current key: the unit's current certificate, nothing signed", async (t) => {
  const [dev] = await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-AWS-2');
  const id = await identityClient(t, fleetPort(server.awsFleetUrl!), dev!.certPem, dev!.keyPem, `thing-${dev!.serial}`);
  const created = await id.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev!) });
  checkIssued(t, created, dev!.serial);
  t.equal(created.certificateId, dev!.fingerprint, 'the line certificate itself');
  const thing = await id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: created.certificateOwnershipToken!, parameters: {} });
  t.equal(thing.thingName, `Sensor-${dev!.serial}`);
  t.match(await store.transaction((tx) => tx.units.getBySerial(dev!.serial), { readOnly: true }), { fingerprintSha256: dev!.fingerprint }, 'still the unit\'s certificate');
  t.equal(await store.transaction((tx) => tx.revocations.get(dev!.certificateSerial), { readOnly: true }), null, 'not revoked');
  t.match(await store.transaction((tx) => tx.enrollment.get(dev!.serial), { readOnly: true }), { serial: dev!.serial, method: 'mtls' }, 'enrolled');
});

t.test('an SE050 unit (36-digit unique id): a second key is certified with the SE050 profile, as at issuance', async (t) => {
  const [dev] = await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-AWS-SE050', { chip: 'se050' });
  t.equal(dev!.serial.length, 36);
  const id = await identityClient(t, fleetPort(server.awsFleetUrl!), dev!.certPem, dev!.keyPem, `thing-${dev!.serial}`);
  const created = await id.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev!, secondKeyPem()) });
  checkIssued(t, created, dev!.serial);
  const thing = await id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: created.certificateOwnershipToken!, parameters: {} });
  t.equal(thing.thingName, `Sensor-${dev!.serial}`);
  t.equal((await store.transaction((tx) => tx.units.getBySerial(dev!.serial), { readOnly: true }))!.fingerprintSha256, created.certificateId, 'activated');
});

t.test('rejections in AWS\'s shape {statusCode, errorCode, errorMessage}', async (t) => {
  const [dev, other, scrapped, unconfirmed] = [...await issueCloudDevices(t, pki, server.apiUrl, 3, 'WO-AWS-REJ'), ...await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-AWS-UNC', { confirm: false })];
  const port = fleetPort(server.awsFleetUrl!);
  const id = await identityClient(t, port, dev!.certPem, dev!.keyPem, `thing-${dev!.serial}`);

  t.match(await rejected(id.createKeysAndCertificate({})), { statusCode: 403, errorCode: 'ACCESS_DENIED', errorMessage: /keys never leave the secure element/ }, 'CreateKeysAndCertificate: keys never leave the chip');
  t.match(await rejected(id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: 'A'.repeat(43), parameters: {} })), { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken' }, 'a token never issued');
  t.match(await rejected(id.createCertificateFromCsr({ certificateSigningRequest: 'not a CSR' })), { statusCode: 400, errorCode: String, errorMessage: String }, 'a CSR that is not one');
  t.match(await rejected(id.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev!, other!.keyPem) })), { statusCode: 409, errorCode: 'ResourceAlreadyExists', errorMessage: /DUPLICATE_KEY/ }, "another unit's key");

  const created = await id.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev!) });
  const token = created.certificateOwnershipToken!;
  t.match(await rejected(id.registerThing({ templateName: 'no-such-template', certificateOwnershipToken: token, parameters: {} })), { statusCode: 404, errorCode: 'ResourceNotFound', errorMessage: /no-such-template/ }, 'an unknown template');
  const otherId = await identityClient(t, port, other!.certPem, other!.keyPem, `thing-${other!.serial}`);
  t.match(await rejected(otherId.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: (await id.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev!) })).certificateOwnershipToken!, parameters: {} })),
    { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken', errorMessage: /another device/ }, "another device's token");
  await id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: token, parameters: {} });
  t.pass('the token survives a request naming an unknown template');
  t.match(await rejected(id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: token, parameters: {} })), { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken', errorMessage: /already used/ }, 'a token is single-use');

  const raw = await rawDevice(t, port, other!);
  await raw.subscribeAsync(`$aws/provisioning-templates/${DEV_FLEET_TEMPLATE}/provision/json/rejected`, { qos: 1 });
  const reply = new Promise<Buffer>((r) => raw.once('message', (_t, p) => r(p)));
  await raw.publishAsync(`$aws/provisioning-templates/${DEV_FLEET_TEMPLATE}/provision/json`, JSON.stringify({ parameters: {}, templateName: DEV_FLEET_TEMPLATE }), { qos: 1 });
  t.same(JSON.parse((await reply).toString()), { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken', errorMessage: 'Certificate ownership token cannot be empty.' }, "no token: AWS's own answer; unknown keys ignored");

  const u = await identityClient(t, port, unconfirmed!.certPem, unconfirmed!.keyPem, `thing-${unconfirmed!.serial}`);
  t.match(await rejected(u.createCertificateFromCsr({ certificateSigningRequest: csrOf(unconfirmed!) })), { statusCode: 403, errorCode: 'ACCESS_DENIED', errorMessage: /UNIT_NOT_CONFIRMED/ }, 'a unit no station confirmed');

  // A unit revoked by status only (as scrapping marks it): its certificate still connects, its requests are refused.
  const s = await identityClient(t, port, scrapped!.certPem, scrapped!.keyPem, `thing-${scrapped!.serial}`);
  await store.transaction((tx) => tx.units.setStatus(scrapped!.serial, 'revoked', { at: new Date().toISOString(), reason: 'test' }));
  t.match(await rejected(s.createCertificateFromCsr({ certificateSigningRequest: csrOf(scrapped!) })), { statusCode: 403, errorCode: 'ACCESS_DENIED', errorMessage: /DEVICE_REVOKED/ }, 'a revoked unit');

  const r = await officerFor(t, pki, server.apiUrl).raw('POST', '/v1/revocations', { serial: other!.serial, reason: 'keyCompromise' });
  t.equal(r.status, 200, JSON.stringify(r.body));
  await t.rejects(identityClient(t, port, other!.certPem, other!.keyPem, `thing-${other!.serial}-revoked`), 'a revoked certificate is refused at CONNECT');
});

t.test('two devices at once: each gets its own certificate and thing; a third device subscribed to every reply topic receives nothing', async (t) => {
  const [a, b, c] = await issueCloudDevices(t, pki, server.apiUrl, 3, 'WO-AWS-TWO');
  const port = fleetPort(server.awsFleetUrl!);
  const listener = await rawDevice(t, port, c!);
  await listener.subscribeAsync({ '$aws/certificates/#': { qos: 1 }, '$aws/provisioning-templates/#': { qos: 1 } });
  const overheard: string[] = [];
  listener.on('message', (topic) => overheard.push(topic));
  const [ia, ib] = await Promise.all([a, b].map((d) => identityClient(t, port, d!.certPem, d!.keyPem, `thing-${d!.serial}`)));
  const [ra, rb] = await Promise.all([[a!, ia!] as const, [b!, ib!] as const].map(async ([d, id]) => {
    const created = await id.createCertificateFromCsr({ certificateSigningRequest: csrOf(d) });
    const thing = await id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: created.certificateOwnershipToken!, parameters: {} });
    return { created, thing };
  }));
  checkIssued(t, ra!.created, a!.serial);
  checkIssued(t, rb!.created, b!.serial);
  t.equal(ra!.thing.thingName, `Sensor-${a!.serial}`);
  t.equal(rb!.thing.thingName, `Sensor-${b!.serial}`);
  await new Promise((r) => setTimeout(r, 300));
  t.same(overheard, [], 'nothing reached the listening device');
});

t.test('ALPN: none, x-amzn-mqtt-ca or mqtt is accepted; a client offering only other protocols is refused', async (t) => {
  const [dev] = await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-AWS-ALPN');
  const port = fleetPort(server.awsFleetUrl!);
  const handshake = (ALPNProtocols?: string[]) => new Promise<string | false | null>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: rootPem, cert: dev!.certPem, key: dev!.keyPem, ...(ALPNProtocols ? { ALPNProtocols } : {}) }, () => {
      resolve(s.alpnProtocol);
      s.destroy();
    });
    s.once('error', reject);
  });
  t.equal(await handshake(), false, 'no ALPN offered: none negotiated');
  t.equal(await handshake(['x-amzn-mqtt-ca']), 'x-amzn-mqtt-ca');
  t.equal(await handshake(['h2', 'x-amzn-mqtt-ca']), 'x-amzn-mqtt-ca');
  t.equal(await handshake(['mqtt']), 'mqtt');
  await t.rejects(handshake(['h2']), /no_application_protocol|alert/i, 'only other protocols: no_application_protocol');
  // A whole session without ALPN (mqtt.js offers none): CONNECT accepted, a request answered.
  const c = await rawDevice(t, port, dev!);
  await c.subscribeAsync('$aws/certificates/create/json/rejected', { qos: 1 });
  const reply = new Promise<Buffer>((r) => c.once('message', (_t, p) => r(p)));
  await c.publishAsync('$aws/certificates/create/json', '{}', { qos: 1 });
  t.match(JSON.parse((await reply).toString()), { statusCode: 403, errorCode: 'ACCESS_DENIED' });
});

t.test('CBOR topics (the embedded C SDK\'s): CreateCertificateFromCsr answered in CBOR', async (t) => {
  const [dev] = await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-AWS-CBOR');
  const c = await rawDevice(t, fleetPort(server.awsFleetUrl!), dev!);
  await c.subscribeAsync({ '$aws/certificates/create-from-csr/cbor/accepted': { qos: 1 }, '$aws/certificates/create-from-csr/cbor/rejected': { qos: 1 } });
  const reply = new Promise<{ topic: string; body: Buffer }>((r) => c.once('message', (topic, body) => r({ topic, body })));
  // {"certificateSigningRequest": csr}, encoded by hand (RFC 8949: map of 1, text key, text of 2-byte length).
  const text = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([b.length < 24 ? Buffer.of(0x60 + b.length) : b.length < 256 ? Buffer.of(0x78, b.length) : Buffer.of(0x79, b.length >> 8, b.length & 0xff), b]);
  };
  await c.publishAsync('$aws/certificates/create-from-csr/cbor', Buffer.concat([Buffer.of(0xa1), text('certificateSigningRequest'), text(csrOf(dev!))]), { qos: 1 });
  const r = await reply;
  t.equal(r.topic, '$aws/certificates/create-from-csr/cbor/accepted');
  t.equal(r.body[0], 0xa3, 'a CBOR map of three');
  const body = decodeCbor(r.body) as Record<string, string>;
  t.equal(body.certificateId, sha256(new X509Certificate(body.certificatePem!).raw));
  t.match(body.certificateOwnershipToken, /^[A-Za-z0-9_-]{43}$/);
});

t.test("MQTT 5: the SDK's Mqtt5Client with IotIdentityClientv2.newFromMqtt5", async (t) => {
  const [dev] = await issueCloudDevices(t, pki, server.apiUrl, 1, 'WO-AWS-MQTT5');
  const req: Mqtt5DeviceRequest = {
    port: fleetPort(server.awsFleetUrl!), certPem: dev!.certPem, keyPem: dev!.keyPem, caPem: rootPem, clientId: `thing5-${dev!.serial}`, csrPem: csrOf(dev!, secondKeyPem()), templateName: DEV_FLEET_TEMPLATE,
  };
  const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['--import', 'tsx', MQTT5_DEVICE, JSON.stringify(req)], { timeout: 30_000 }, (err, stdout) => (err ? reject(new Error(`${err.message}: ${stdout}`)) : resolve(stdout))));
  const { created, thing } = JSON.parse(out) as { created: iotidentity.model.CreateCertificateFromCsrResponse; thing: iotidentity.model.RegisterThingResponse };
  checkIssued(t, created, dev!.serial);
  t.equal(thing.thingName, `Sensor-${dev!.serial}`);
  t.match(await store.transaction((tx) => tx.units.getBySerial(dev!.serial), { readOnly: true }), { fingerprintSha256: created.certificateId }, 'activated');
});

t.test('templates with a pre-provisioning hook, a work-order restriction, a short token lifetime, throttling', async (t) => {
  // The hook: AWS's Lambda payload in, {allowProvisioning, parameterOverrides} out, by the device's Decision parameter.
  const calls: Array<Record<string, unknown>> = [];
  const hook: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const payload = JSON.parse(body) as { parameters: Record<string, string> };
      calls.push(payload);
      const answer = (o: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      const decision = payload.parameters.Decision;
      if (decision === 'allow') answer({ allowProvisioning: true, parameterOverrides: { Location: 'line-7' } });
      else if (decision === 'slow') setTimeout(() => answer({ allowProvisioning: true }), 1500);
      else if (decision === 'error') res.writeHead(500).end();
      else answer({ allowProvisioning: false });
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => hook.close(() => r())));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;

  const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8')) as { awsFleet: Record<string, unknown> & { templates: Record<string, unknown> } };
  cfg.awsFleet = {
    ...cfg.awsFleet, tokenTtlSeconds: 10, rateLimitPerMinute: 4,
    templates: {
      ...cfg.awsFleet.templates,
      'keyline-hooked': { thingName: '{parameters.Location}-{serial}', preProvisioningHook: { url: hookUrl, timeoutMs: 500 } },
      'line-b-only': { workOrders: ['WO-LINE-B'] },
    },
  };
  const file = join(pki.outDir, 'keyline-hooked.json');
  writeFileSync(file, JSON.stringify(cfg));
  const hooked = await startServer({ configFile: file, env: { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'silent' } });
  t.teardown(() => hooked.close());
  const port = fleetPort(hooked.awsFleetUrl!);
  const devs = await issueCloudDevices(t, pki, server.apiUrl, 6, 'WO-AWS-HOOK');

  // A token taken now is checked once its 10 s are over (at the end of this test).
  const expiring = await identityClient(t, port, devs[4]!.certPem, devs[4]!.keyPem, `thing-${devs[4]!.serial}`);
  const expiringToken = (await expiring.createCertificateFromCsr({ certificateSigningRequest: csrOf(devs[4]!) })).certificateOwnershipToken!;
  const takenAt = Date.now();

  const [allow, deny, slow, error] = devs;
  const ida = await identityClient(t, port, allow!.certPem, allow!.keyPem, `thing-${allow!.serial}`);
  const created = await ida.createCertificateFromCsr({ certificateSigningRequest: csrOf(allow!) });
  const thing = await ida.registerThing({ templateName: 'keyline-hooked', certificateOwnershipToken: created.certificateOwnershipToken!, parameters: { Decision: 'allow', Location: 'dock' } });
  t.equal(thing.thingName, `line-7-${allow!.serial}`, "the hook's parameterOverrides win over the device's parameters");
  t.match(calls[0], {
    claimCertificateId: sha256(new X509Certificate(allow!.certPem).raw), certificateId: created.certificateId, certificatePem: created.certificatePem,
    templateArn: /keyline-hooked$/, clientId: `thing-${allow!.serial}`, parameters: { Decision: 'allow', Location: 'dock' },
  }, "the hook is called with AWS's payload");

  for (const [dev, decision, why] of [[deny!, 'deny', /did not allow/], [slow!, 'slow', /no answer within 500 ms/], [error!, 'error', /HTTP 500/]] as const) {
    const id = await identityClient(t, port, dev.certPem, dev.keyPem, `thing-${dev.serial}`);
    const c = await id.createCertificateFromCsr({ certificateSigningRequest: csrOf(dev) });
    t.match(await rejected(id.registerThing({ templateName: 'keyline-hooked', certificateOwnershipToken: c.certificateOwnershipToken!, parameters: { Decision: decision } })),
      { statusCode: 403, errorCode: 'ACCESS_DENIED', errorMessage: why }, `hook ${decision}: ACCESS_DENIED`);
    t.match(await store.transaction((tx) => tx.units.getBySerial(dev.serial), { readOnly: true }), { fingerprintSha256: dev.fingerprint }, `hook ${decision}: the certificate stays pending, never the unit's`);
  }

  const idd = await identityClient(t, port, deny!.certPem, deny!.keyPem, `thing-${deny!.serial}-b`);
  const c2 = await idd.createCertificateFromCsr({ certificateSigningRequest: csrOf(deny!) });
  t.match(await rejected(idd.registerThing({ templateName: 'line-b-only', certificateOwnershipToken: c2.certificateOwnershipToken!, parameters: {} })),
    { statusCode: 403, errorCode: 'ACCESS_DENIED', errorMessage: /work order 'WO-AWS-HOOK'/ }, "a template for another work order's units");

  // Four requests a minute per device (rateLimitPerMinute): the fifth is throttled.
  const busy = await identityClient(t, port, devs[5]!.certPem, devs[5]!.keyPem, `thing-${devs[5]!.serial}`);
  for (let i = 0; i < 4; i++) await busy.createCertificateFromCsr({ certificateSigningRequest: csrOf(devs[5]!) });
  t.match(await rejected(busy.createCertificateFromCsr({ certificateSigningRequest: csrOf(devs[5]!) })), { statusCode: 429, errorCode: 'Throttling', errorMessage: /RATE_LIMITED/ }, 'throttled');

  t.ok(awsFleetConfigSchema.safeParse({ templates: { x: { preProvisioningHook: { url: hookUrl } } } }).data?.templates.x?.preProvisioningHook?.timeoutMs === 5000, "the hook's budget is AWS's 5 s by default");
  t.notOk(awsFleetConfigSchema.safeParse({ templates: { x: { preProvisioningHook: { url: hookUrl, timeoutMs: 6000 } } } }).success, 'and never more');

  await new Promise((r) => setTimeout(r, Math.max(0, takenAt + 10_500 - Date.now())));
  t.match(await rejected(expiring.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: expiringToken, parameters: {} })),
    { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken', errorMessage: /expired/ }, 'a token past its lifetime');
  t.match(await store.transaction((tx) => tx.units.getBySerial(devs[4]!.serial), { readOnly: true }), { fingerprintSha256: devs[4]!.fingerprint }, 'its certificate was never activated');
});
