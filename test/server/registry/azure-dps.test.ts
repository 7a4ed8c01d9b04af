/**
 * The Azure DPS registry through the official azure-iot-provisioning-service client against the
 * local fake DPS (HTTPS, SAS checked), what goes on the wire and what is DPS's own: the enrollment
 * body, a repeat that only reads, a clone refused, the SAS, the CN rule, revocation under If-Match
 * (etags, 412), and the enrollment-group setup on the issuing CA. The Registry contract itself
 * (idempotence, revoke, throttled/unavailable/hung/refused calls, awaiting, the outbox) is
 * azure-dps-registry.test.ts, which runs registry.suite.ts in both modes.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { silentLogger } from '../../../common/log.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { setupAzureDpsEnrollmentGroup } from '../../../server/registry/azure-dps-kind.js';
import { createAzureDpsRegistry, createDpsClient, parseDpsConnectionString, toPem } from '../../../server/registry/azure-dps-registry.js';
import type { RegistrySetupContext } from '../../../server/registry/registry-kind.js';
import type { UnitRecord } from '../../../server/store/store.js';
import { makeTestPki, type TestPki } from '../../secure-element/atcacert/ca-fixture.js';
import { chipSerial } from '../services/helpers.js';
import { fakeDpsConfig, fakeDpsContext, startFakeAzureDps, type FakeDps } from './fake-azure-dps.js';

/** A unit with a real device certificate (CN = serial) signed by `pki`'s issuing CA. */
async function unitFrom(pki: TestPki, serial: string = chipSerial()): Promise<UnitRecord> {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 64));
  const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 10 });
  const cert = await issuer.issue({ chipSerial: Buffer.from(serial, 'hex'), publicKey, product: 'Sensor', issuedAt: new Date() });
  const at = new Date().toISOString();
  return {
    serial, publicKey, certificateDer: cert.der, fingerprintSha256: createHash('sha256').update(cert.der).digest('hex'), certificateSerial: cert.serialHex,
    workOrder: 'WO-1', station: 'station-1', status: 'issued', statusReason: null, idempotencyKey: null, issuedAt: at, confirmedAt: null, updatedAt: at,
  } as UnitRecord;
}

const pkiP = makeTestPki();

async function setup(t: Test, extra: Record<string, unknown> = {}) {
  const pki = await pkiP;
  const fake = await startFakeAzureDps({ dir: t.testdir() });
  t.teardown(() => fake.close());
  const cfg = fakeDpsConfig(fake, extra);
  const ctx = fakeDpsContext(fake, pki.issuingPem, silentLogger);
  return { pki, fake, cfg, ctx, registry: createAzureDpsRegistry('azure-eu', cfg, ctx) };
}

const puts = (fake: FakeDps) => fake.state.requests.filter((r) => r.method === 'PUT').length;

t.test('register writes one X.509 individual enrollment with the device certificate; a repeat writes nothing', async (t) => {
  const { pki, fake, registry } = await setup(t, { deviceIdPrefix: 'kl-', allocationPolicy: 'hashed', iotHubs: ['hub-a.azure-devices.net'], initialTwin: { tags: { line: 'A' } } });
  const unit = await unitFrom(pki);
  t.same(await registry.register(unit), { externalId: unit.serial });
  const e = fake.state.enrollments.get(unit.serial.toLowerCase());
  t.ok(e, 'one enrollment under the serial');
  t.equal(e!.pem.replace(/\s+/g, ''), toPem(unit.certificateDer).replace(/\s+/g, ''), 'keyed by the device certificate');
  t.match(e!.body, { registrationId: unit.serial, deviceId: `kl-${unit.serial}`, provisioningStatus: 'enabled', allocationPolicy: 'hashed', iotHubs: ['hub-a.azure-devices.net'], initialTwin: { tags: { line: 'A' } } });
  t.same(await registry.register(unit), { externalId: unit.serial });
  t.equal(puts(fake), 1, 'the repeat only read');
  t.equal(registry.maxPerSecond, 16, 'DPS quota default');
  t.same(fake.violations, []);
});

t.test('another certificate under the same registration id is refused, never overwritten', async (t) => {
  const { pki, fake, registry } = await setup(t);
  const unit = await unitFrom(pki);
  await registry.register(unit);
  const clone = await unitFrom(pki, unit.serial); // same serial, another key and certificate
  await t.rejects(registry.register(clone), { code: 'REGISTRY_REJECTED' });
  await t.rejects(registry.revoke(clone), { code: 'REGISTRY_REJECTED' });
  t.equal(fake.state.enrollments.get(unit.serial.toLowerCase())!.writes, 1);
  t.equal(fake.state.enrollments.get(unit.serial.toLowerCase())!.body.provisioningStatus, 'enabled');
  t.same(fake.violations, []);
});

t.test('a wrong key is refused by DPS (401): REGISTRY_REJECTED', async (t) => {
  const { pki, fake, cfg } = await setup(t);
  const conn = parseDpsConnectionString(fake.connectionString, 'x');
  const wrong = `HostName=${conn.hostName};SharedAccessKeyName=${conn.keyName};SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}`;
  const registry = createAzureDpsRegistry('azure-eu', cfg, { secret: () => wrong, issuingCaPem: pki.issuingPem, issuingCaPemFor: () => pki.issuingPem, log: silentLogger });
  await t.rejects(registry.register(await unitFrom(pki)), { code: 'REGISTRY_REJECTED' });
  t.match(fake.violations, [/signature does not verify/], 'the fake saw a bad signature');
});

t.test('connection strings lacking a part are CONFIG_INVALID, naming the field', async (t) => {
  t.throws(() => parseDpsConnectionString('HostName=x;SharedAccessKeyName=y', 'registries.a.connectionString'), { code: 'CONFIG_INVALID', message: /registries\.a\.connectionString.*SharedAccessKey/ });
  t.same(parseDpsConnectionString('HostName=h;SharedAccessKeyName=n;SharedAccessKey=YWJj==', 'f'), { hostName: 'h', keyName: 'n', key: 'YWJj==' });
});

t.test('a certificate whose CN is not the serial is refused before any call', async (t) => {
  const { pki, fake, registry } = await setup(t);
  const unit = { ...(await unitFrom(pki)), serial: chipSerial() };
  await t.rejects(registry.register(unit), { code: 'REGISTRY_REJECTED' });
  t.equal(fake.state.requests.length, 0);
});

t.test('revoke disables the enrollment under If-Match (a stale etag changes nothing); a repeat and a late register only read', async (t) => {
  const { pki, fake, registry, cfg, ctx } = await setup(t);
  const unit = await unitFrom(pki);
  await registry.register(unit);
  const before = fake.state.enrollments.get(unit.serial.toLowerCase())!.etag;

  // Someone changes the entry between our read and our write: DPS answers 412, a retry reads again.
  const client = createDpsClient('azure-eu', cfg, ctx);
  const racing = new Proxy(client, {
    get(target, prop, recv) {
      if (prop !== 'getIndividualEnrollment') return Reflect.get(target, prop, recv);
      return async (id: string) => {
        const got = await target.getIndividualEnrollment(id);
        fake.state.enrollments.get(id.toLowerCase())!.etag = '"changed-meanwhile"';
        return got;
      };
    },
  });
  await t.rejects(createAzureDpsRegistry('azure-eu', cfg, ctx, racing).revoke(unit), { code: 'REGISTRY_UNAVAILABLE' });
  t.equal(fake.state.enrollments.get(unit.serial.toLowerCase())!.body.provisioningStatus, 'enabled', 'a stale etag changed nothing');

  await registry.revoke(unit);
  const e = fake.state.enrollments.get(unit.serial.toLowerCase())!;
  t.equal(e.body.provisioningStatus, 'disabled');
  t.not(e.etag, before, 'etag changed on update');
  const writes = puts(fake);
  await registry.revoke(unit);
  await registry.register(unit);
  t.equal(puts(fake), writes, 'repeat revoke and a late register write nothing');
  t.equal(e.body.provisioningStatus, 'disabled');
  t.same(fake.violations, []);
});

t.test('enrollment-group mode: setup on the issuing CA, idempotent, never over another CA\'s group; register makes no call', async (t) => {
  const { pki, fake, cfg, ctx, registry } = await setup(t, { mode: 'enrollment-group', enrollmentGroupId: 'keyline-line-a', allocationPolicy: 'static', iotHubHostName: 'hub-a.azure-devices.net' });
  const progress: string[] = [];
  const sctx = { ...ctx, issuingSigner: pki.signer, issuingCaDer: pki.issuingDer, progress: (m: string) => void progress.push(m) } as unknown as RegistrySetupContext;
  const first = await setupAzureDpsEnrollmentGroup('azure-eu', cfg, sctx);
  t.match(first, { enrollmentGroupId: 'keyline-line-a', created: true, caVerification: /verified/ });
  const g = fake.state.groups.get('keyline-line-a')!;
  t.equal(g.pem.replace(/\s+/g, ''), pki.issuingPem.replace(/\s+/g, ''), 'group signed by the issuing CA');
  t.match(g.body, { provisioningStatus: 'enabled', allocationPolicy: 'static', iotHubHostName: 'hub-a.azure-devices.net' });
  t.match(await setupAzureDpsEnrollmentGroup('azure-eu', cfg, sctx), { created: false }, 'idempotent: rewritten under its etag');
  t.match(progress.join('\n'), /az iot dps certificate/);

  const other = await makeTestPki({ issuingSubject: 'CN=Someone Else CA' });
  await t.rejects(setupAzureDpsEnrollmentGroup('azure-eu', cfg, { ...sctx, issuingCaPem: other.issuingPem, issuingCaDer: other.issuingDer }), { code: 'REGISTRY_REJECTED' });
  await t.rejects(setupAzureDpsEnrollmentGroup('azure-eu', fakeDpsConfig(fake), sctx), { code: 'NOT_SUPPORTED' }, 'individual mode has no setup');

  const unit = await unitFrom(pki);
  const requests = fake.state.requests.length;
  t.same(await registry.register(unit), { externalId: unit.serial, awaitingConnection: true });
  t.equal(fake.state.requests.length, requests, 'register made no call');
  t.same(fake.violations, []);
});

t.test('setup with the DPS verification code signs the proof-of-possession certificate with the issuing CA key (openssl)', async (t) => {
  const { pki, fake, ctx } = await setup(t);
  const cfg = fakeDpsConfig(fake, { mode: 'enrollment-group', caVerificationCode: '2B0A9E5C1D7F43A6B8C0D1E2F3A4B5C6D7E8F9A0B1C2D3E4' });
  const sctx = { ...ctx, issuingSigner: pki.signer, issuingCaDer: pki.issuingDer, progress: () => undefined } as unknown as RegistrySetupContext;
  const out = await setupAzureDpsEnrollmentGroup('azure-eu', cfg, sctx);
  t.type(out.verificationCertificate, 'string');
  const dir = t.testdir({ 'ca.pem': pki.issuingPem, 'verification.pem': out.verificationCertificate as string });
  writeFileSync(join(dir, 'root.pem'), pki.rootPem);
  // Chains through the issuing CA to the root: only the issuing CA key can have signed it.
  const verified = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'ca.pem'), join(dir, 'verification.pem')], { encoding: 'utf8' });
  t.match(verified, /verification\.pem: OK/);
  const subject = execFileSync('openssl', ['x509', '-in', join(dir, 'verification.pem'), '-noout', '-subject'], { encoding: 'utf8' });
  t.match(subject, /CN ?= ?2B0A9E5C1D7F43A6B8C0D1E2F3A4B5C6D7E8F9A0B1C2D3E4/);
  t.same(fake.violations, []);
});

t.test('the verification code is per CA: the operator\'s code wins, the config value is refused for several CAs before any call, and each certificate is recorded before it is handed out', async (t) => {
  const { pki, fake, ctx } = await setup(t);
  const cfg = fakeDpsConfig(fake, { mode: 'enrollment-group', caVerificationCode: 'AAAA0000' });
  const recorded: string[] = [];
  const sctx = {
    ...ctx, issuingSigner: pki.signer, issuingCaDer: pki.issuingDer, progress: () => undefined,
    recordVerificationCertificate: async (pem: string) => void recorded.push(pem),
  } as unknown as RegistrySetupContext;

  await t.rejects(setupAzureDpsEnrollmentGroup('azure-eu', cfg, { ...sctx, setupCaKeyIds: ['aa', 'bb'] }),
    { code: 'CONFIG_INVALID', message: /registries\.azure-eu\.caVerificationCode: one code, but this setup covers 2 issuing CAs \(aa, bb\)[\s\S]*--ca KEYID/ });
  t.equal(fake.state.requests.length, 0, 'refused before any DPS call');
  t.same(recorded, [], 'nothing signed');

  const out = await setupAzureDpsEnrollmentGroup('azure-eu', cfg, { ...sctx, setupCaKeyIds: ['aa', 'bb'], verificationCode: 'B0B0C0DE' });
  const subject = execFileSync('openssl', ['x509', '-noout', '-subject'], { input: out.verificationCertificate as string, encoding: 'utf8' });
  t.match(subject, /CN ?= ?B0B0C0DE/, 'the code given for this CA, not the config one');
  t.same(recorded, [out.verificationCertificate], 'recorded, once, as returned');
  await t.rejects(setupAzureDpsEnrollmentGroup('azure-eu', cfg, { ...sctx, verificationCode: 'CN=x' }), { code: 'VALIDATION_FAILED' });

  const failing = { ...sctx, recordVerificationCertificate: async () => { throw Object.assign(new Error('disk full'), { code: 'STORE_ERROR' }); } } as RegistrySetupContext;
  await t.rejects(setupAzureDpsEnrollmentGroup('azure-eu', cfg, failing), { code: 'STORE_ERROR' }, 'an unrecorded certificate is not handed out');
  t.same(fake.violations, []);
});
