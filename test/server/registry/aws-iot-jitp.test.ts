/**
 * AWS IoT just-in-time provisioning, what is particular to it: `setup` registers the issuing CA
 * with a verification certificate signed in SoftHSM (checked with openssl); register() makes no
 * call; a certificate still PENDING_ACTIVATION is not yet provisioned; the thing the template
 * made. Awaiting, confirmation and revocation in 'jitp' mode are the contract suite's
 * (aws-iot-registry.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { toPem } from '../../../common/pem.js';
import { awsIotKind } from '../../../server/registry/aws-iot-kind.js';
import { awsCertificateId } from '../../../server/registry/aws-iot-registry.js';
import { defaultJitpTemplate } from '../../../server/registry/aws-iot-setup.js';
import { awsFixture } from './aws-iot-fixture.js';

const ROLE = 'arn:aws:iam::123456789012:role/keyline-jitp';

t.test('setup registers the issuing CA for JITP with a verification certificate openssl accepts', async (t) => {
  const f = await awsFixture(t);
  const cfg = f.config({ mode: 'jitp', jitp: { roleArn: ROLE }, policyName: 'keyline-device', thingGroup: 'line-1', thingNamePrefix: 'kl-' });
  const progress: string[] = [];
  const out = await awsIotKind.setup!('aws', cfg, { ...f.ctx, progress: (m) => void progress.push(m) });
  const caId = awsCertificateId(f.pki.issuingDer);
  t.match(out, { registry: 'aws', mode: 'jitp', created: true, caCertificateId: caId, status: 'ACTIVE', autoRegistration: 'ENABLE' });
  const ca = f.fake.state.cas.get(caId)!;
  t.same(ca.registrationConfig, { roleArn: ROLE, templateBody: defaultJitpTemplate(cfg) });

  // The verification certificate: CN = the registration code, chains to the issuing CA (openssl).
  const dir = f.pki.outDir;
  writeFileSync(join(dir, 'verification.pem'), ca.verificationPem);
  const subject = execFileSync('openssl', ['x509', '-in', join(dir, 'verification.pem'), '-noout', '-subject', '-nameopt', 'RFC2253'], { encoding: 'utf8' });
  t.equal(subject.trim(), `subject=CN=${f.fake.state.registrationCode}`);
  const verified = execFileSync('openssl', ['verify', '-CAfile', f.pki.rootCertPath, '-untrusted', f.pki.issuingCertPath, join(dir, 'verification.pem')], { encoding: 'utf8' });
  t.match(verified, /: OK/);
  t.ok(progress.length >= 2, 'progress reported');

  // Idempotent: a second setup finds the CA and changes nothing.
  const again = await awsIotKind.setup!('aws', cfg, f.ctx);
  t.match(again, { created: false, caCertificateId: caId, status: 'ACTIVE', autoRegistration: 'ENABLE', registrationConfigMatches: true });
  t.equal(f.fake.state.cas.size, 1);
  const other = await awsIotKind.setup!('aws', f.config({ mode: 'jitp', jitp: { roleArn: ROLE, templateName: 'factory-jitp' } }), f.ctx);
  t.match(other, { created: false, registrationConfigMatches: false });
  t.same(f.fake.state.violations, []);

  await t.rejects(awsIotKind.setup!('aws', f.config(), f.ctx), { code: 'CONFIG_INVALID', message: /mode is 'multi-account'/ });
  await t.rejects(awsIotKind.setup!('aws', f.config({ mode: 'jitp' }), f.ctx), { code: 'CONFIG_INVALID', message: /jitp: required/ });
});

t.test('jitp mode: register makes no call; PENDING_ACTIVATION is not provisioned yet; the thing comes from the template', async (t) => {
  const f = await awsFixture(t);
  const cfg = f.config({ mode: 'jitp', jitp: { roleArn: ROLE }, policyName: 'keyline-device', thingGroup: 'line-1', thingNamePrefix: 'kl-' });
  await awsIotKind.setup!('aws', cfg, f.ctx);
  const aws = awsIotKind.create('aws', cfg, f.ctx);
  const [u] = await f.units(1);
  const calls = f.fake.state.calls.length;
  t.same(await aws.register(u!), { externalId: `kl-${u!.serial}`, awaitingConnection: true });
  t.equal(f.fake.state.calls.length, calls, 'no call to AWS');
  t.equal(await aws.confirmConnection!(u!), null, 'not connected yet (ResourceNotFound)');

  // The device's first connection: AWS registers the certificate PENDING_ACTIVATION and runs the template.
  const pem = toPem(u!.certificateDer);
  t.same(f.fake.connect(pem), { ok: true }, 'the default template provisions a Keyline certificate');
  const cert = f.fake.state.certificates.get(awsCertificateId(u!.certificateDer))!;
  cert.status = 'PENDING_ACTIVATION';
  t.equal(await aws.confirmConnection!(u!), null, 'PENDING_ACTIVATION is not yet provisioned');
  cert.status = 'ACTIVE';
  t.same(await aws.confirmConnection!(u!), { externalId: `kl-${u!.serial}` });
  const thing = f.fake.state.things.get(`kl-${u!.serial}`)!;
  t.same(thing.attributes, { serial: u!.serial, product: 'Sensor' }, 'serial from the CN, product from O');
  t.same([...thing.groups], ['line-1']);
  t.same([...thing.principals], [cert.arn]);
  t.same([...cert.policies], ['keyline-device']);
  t.same(f.fake.state.violations, []);
});
