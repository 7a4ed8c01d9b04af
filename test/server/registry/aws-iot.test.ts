/**
 * The AWS IoT registry through the real @aws-sdk/client-iot against the fake control plane: what
 * goes on the wire (the importer's call sequence and bodies, how a retry and a revoke find the
 * earlier state, one request per attempt, SigV4) and AWS's own refusals. The Registry contract
 * itself (idempotence, revoke, throttled/unavailable/hung/refused calls, the outbox) is
 * aws-iot-registry.test.ts, which runs registry.suite.ts in every mode.
 */
import t from 'tap';
import { toPem } from '../../../common/pem.js';
import { awsCertificateId, createAwsIotRegistry } from '../../../server/registry/aws-iot-registry.js';
import { awsFixture } from './aws-iot-fixture.js';

const OPS = ['RegisterCertificateWithoutCA', 'AttachPolicy', 'CreateThing', 'AttachThingPrincipal', 'AddThingToThingGroup'];

t.test('register makes the importer sequence; a retry reads the existing certificate instead of creating one', async (t) => {
  const f = await awsFixture(t);
  const cfg = f.config({ policyName: 'keyline-device', thingGroup: 'line-1', thingNamePrefix: 'kl-', attributes: { site: 'plant-7' } });
  const aws = createAwsIotRegistry('aws', cfg, f.ctx);
  t.equal(aws.maxPerSecond, 10);
  const [u] = await f.units(1);
  const res = await aws.register(u!);
  t.same(res, { externalId: `kl-${u!.serial}` });
  t.same(f.fake.state.calls.map((c) => c.op), OPS, 'the five calls, in order, once each');
  const id = awsCertificateId(u!.certificateDer);
  t.equal(id, u!.fingerprintSha256, 'certificate id = SHA-256 of the DER, as Keyline fingerprints it');
  const cert = f.fake.state.certificates.get(id)!;
  t.equal(cert.status, 'ACTIVE');
  t.equal(cert.pem, toPem(u!.certificateDer));
  t.same([...cert.policies], ['keyline-device']);
  const thing = f.fake.state.things.get(`kl-${u!.serial}`)!;
  t.same(thing.attributes, { site: 'plant-7', serial: u!.serial, workOrder: 'WO-1' });
  t.same([...thing.principals], [cert.arn]);
  t.same([...thing.groups], ['line-1']);

  // A retried job (crash after delivery, before the delivered mark) finds everything done.
  t.same(await aws.register(u!), res);
  t.equal(f.fake.count('RegisterCertificateWithoutCA'), 2, 'answered 409 the second time');
  t.equal(f.fake.count('DescribeCertificate'), 1, 'the existing certificate is read, not re-created');
  t.same(f.fake.state.violations, []);
});

t.test("'registered-ca' mode registers under the issuing CA, with the thing type", async (t) => {
  const f = await awsFixture(t);
  // The CA as setup would have registered it (the fake only needs to know it).
  const caId = awsCertificateId(f.pki.issuingDer);
  f.fake.state.cas.set(caId, { id: caId, arn: `arn:aws:iot:eu-west-1:123456789012:cacert/${caId}`, pem: f.ctx.issuingCaPem, verificationPem: '', status: 'ACTIVE', autoRegistration: 'DISABLE' });
  const aws = createAwsIotRegistry('aws', f.config({ mode: 'registered-ca', thingTypeName: 'sensor' }), f.ctx);
  const [u] = await f.units(1);
  await aws.register(u!);
  t.same(f.fake.state.calls.map((c) => c.op), ['RegisterCertificate', 'CreateThing', 'AttachThingPrincipal'], 'no policy or group configured: not attached');
  t.equal(f.fake.state.certificates.get(u!.fingerprintSha256)?.caCertificateId, caId);
  t.equal(f.fake.state.things.get(u!.serial)?.thingTypeName, 'sensor');
  t.same(f.fake.state.violations, []);
});

t.test('a failure half-way is finished by the retry, without a second registration', async (t) => {
  const f = await awsFixture(t);
  const aws = createAwsIotRegistry('aws', f.config({ policyName: 'keyline-device', thingGroup: 'line-1' }), f.ctx);
  const [u] = await f.units(1);
  f.fake.failNext('unavailable', 1, 'AttachThingPrincipal');
  await t.rejects(aws.register(u!), { code: 'REGISTRY_UNAVAILABLE' });
  t.equal(f.fake.state.things.get(u!.serial)?.principals.size, 0, 'stopped before the attach');
  await aws.register(u!);
  t.equal(f.fake.state.certificates.size, 1);
  t.equal(f.fake.state.things.size, 1);
  t.equal(f.fake.state.things.get(u!.serial)?.principals.size, 1);
  t.equal(f.fake.count('CreateThing'), 2, 'CreateThing repeated with the same configuration succeeds (AWS idempotency)');
  t.same(f.fake.state.violations, []);
});

t.test('one request per attempt (no SDK retries); unreachable, refused and malformed calls', async (t) => {
  const f = await awsFixture(t, { fake: { retryAfterSeconds: 2 } });
  const aws = createAwsIotRegistry('aws', f.config({ policyName: 'keyline-device' }), f.ctx);
  const [u] = await f.units(1);
  f.fake.failNext('throttle', 1);
  await t.rejects(aws.register(u!), { code: 'REGISTRY_THROTTLED', retryAfterMs: 2000 });
  f.fake.failNext('unavailable', 1);
  await t.rejects(aws.register(u!), { code: 'REGISTRY_UNAVAILABLE' });
  t.equal(f.fake.state.calls.length, 2, 'one request per attempt: the SDK does not retry');

  const closed = createAwsIotRegistry('aws', f.config({ endpoint: 'http://127.0.0.1:9' }), f.ctx);
  await t.rejects(closed.register(u!), { code: 'REGISTRY_UNAVAILABLE' }, 'connection refused');

  const noPolicy = createAwsIotRegistry('aws', f.config({ policyName: 'missing' }), f.ctx);
  await t.rejects(noPolicy.register(u!), { code: 'REGISTRY_REJECTED', message: /AttachPolicy|attach policy missing.*ResourceNotFoundException/ });
  t.same(f.fake.state.violations, []);

  // A request AWS refuses as malformed (an attribute name outside [a-zA-Z0-9_.,@/:#-]).
  const bad = createAwsIotRegistry('aws', f.config({ attributes: { 'bad name': 'x' } }), f.ctx);
  await t.rejects(bad.register(u!), { code: 'REGISTRY_REJECTED', message: /InvalidRequestException/ });
  t.equal(f.fake.state.violations.length, 1, 'the fake saw the malformed request');
  f.fake.state.violations.length = 0;

  // Wrong secret key: the signature does not verify.
  const wrongKey = createAwsIotRegistry('aws', { ...f.config(), credentials: { accessKeyId: { env: 'AWS_TEST_KEY_ID' }, secretAccessKey: { env: 'AWS_TEST_KEY_ID' } } }, f.ctx);
  await t.rejects(wrongKey.register(u!), { code: 'REGISTRY_REJECTED' });
  t.match(f.fake.state.violations, [/signature does not verify/]);
});

t.test('revoke: a repeat is refused by AWS and found done; revokeAs; a never-registered unit gets no thing', async (t) => {
  const f = await awsFixture(t);
  const [a, b, c] = await f.units(3);
  const aws = createAwsIotRegistry('aws', f.config(), f.ctx);
  await aws.register(a!);
  await aws.revoke(a!);
  await aws.revoke(a!);
  t.equal(f.fake.state.certificates.get(a!.fingerprintSha256)?.status, 'REVOKED');
  t.equal(f.fake.count('UpdateCertificate'), 2);
  t.equal(f.fake.count('DescribeCertificate'), 1, 'the repeated revoke is refused by AWS (406) and found done');
  await t.rejects(aws.register(a!), { code: 'REGISTRY_REJECTED', message: /REVOKED.*not reactivated/ }, 'a revoked certificate is never reactivated');

  const inactive = createAwsIotRegistry('aws', f.config({ revokeAs: 'INACTIVE' }), f.ctx);
  await inactive.register(b!);
  await inactive.revoke(b!);
  await inactive.revoke(b!);
  t.equal(f.fake.state.certificates.get(b!.fingerprintSha256)?.status, 'INACTIVE');

  // Revoke racing a register job: the certificate looked absent, then the registration finds it ACTIVE.
  f.fake.failNext('notFound', 1, 'UpdateCertificate');
  const [d] = await f.units(1);
  await inactive.register(d!);
  await inactive.revoke(d!);
  t.equal(f.fake.state.certificates.get(d!.fingerprintSha256)?.status, 'INACTIVE', 'the ACTIVE certificate found on the way is withdrawn');

  await aws.revoke(c!);
  t.equal(f.fake.state.certificates.get(c!.fingerprintSha256)?.status, 'REVOKED', 'absent certificate: registered, then revoked');
  t.notOk(f.fake.state.things.has(c!.serial), 'no thing for the unit that was never registered');
  t.same(f.fake.state.violations, []);
});
