/**
 * The AWS IoT registry through the real @aws-sdk/client-iot against the fake control plane:
 * the importer's call sequence, idempotent retries, error mapping, revocation and JITP mode.
 */
import t from 'tap';
import { toPem } from '../../../common/pem.js';
import { awsCertificateId, createAwsIotRegistry } from '../../../server/registry/aws-iot-registry.js';
import { awsFixture } from './aws-iot-fixture.js';

const OPS = ['RegisterCertificateWithoutCA', 'AttachPolicy', 'CreateThing', 'AttachThingPrincipal', 'AddThingToThingGroup'];

t.test('register makes the importer sequence once; a second register is a no-op', async (t) => {
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
  t.equal(f.fake.state.certificates.size, 1, 'no second certificate');
  t.equal(f.fake.state.things.size, 1, 'no second thing');
  t.equal(f.fake.count('RegisterCertificateWithoutCA'), 2);
  t.equal(f.fake.count('DescribeCertificate'), 1, 'the existing certificate is read, not re-created');
  t.same(f.fake.state.violations, []);
});
