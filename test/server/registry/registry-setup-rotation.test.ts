/**
 * `keyline registry setup` after an issuing CA rotation (issue 19): keyline.json lists the first
 * CA and the one `ceremony csr --next` + `sign-csr` made, and setup prepares the cloud for both,
 * each with its own proof of possession signed in SoftHSM (the fake AWS IoT checks it), so that
 * devices the new CA certifies are known once it is activated. `--ca KEYID` picks one CA, an
 * unknown key id is refused, and a second run changes nothing.
 */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { toPem } from '../../../common/pem.js';
import { awsCertificateId } from '../../../server/registry/aws-iot-registry.js';
import { main } from '../../../server/registry/cli.js';
import { runKeyline } from '../../helpers/keyline-cli.js';
import { capture } from '../audit/cli-fixture.js';
import { makeRotationPki } from './rotation-pki.js';

// The rotation's ceremony steps, as an operator runs them (README "CA lifecycle").
const { pki, ca1Der, ca2Der, ca1, ca2, revokeFirst, azureGroup, awsJitp } = await makeRotationPki(t);
const dir = pki.outDir;

t.test('AWS JITP: both issuing CAs registered with proof of possession; --ca picks one; unknown --ca refused; rerun is a no-op', async (t) => {
  const fake = await awsJitp(t);
  const [id1, id2] = [awsCertificateId(ca1Der), awsCertificateId(ca2Der)];

  const first = await capture(() => main(['setup', '--registry', 'aws', '--json', '--config', pki.configPath]));
  t.equal(first.result, 0, first.err);
  const out = JSON.parse(first.out);
  t.match(out, { registry: 'aws', mode: 'jitp', created: true, caCertificateId: id1, status: 'ACTIVE' }, 'top level: the first CA, as before');
  t.match(out.cas, [{ keyId: ca1, caCertificateId: id1, created: true }, { keyId: ca2, caCertificateId: id2, created: true }]);
  t.same([...fake.state.cas.keys()].sort(), [id1, id2].sort(), 'both CAs registered');
  for (const der of [ca1Der, ca2Der]) {
    const held = fake.state.cas.get(awsCertificateId(der))!;
    t.equal(held.pem.replace(/\s+/g, ''), toPem(der).replace(/\s+/g, ''));
    t.ok(new X509Certificate(held.verificationPem).verify(new X509Certificate(toPem(der)).publicKey), 'verification certificate signed by that CA');
    t.match(held, { status: 'ACTIVE', autoRegistration: 'ENABLE' });
  }
  t.same(fake.state.violations, []);
  t.match(first.err, new RegExp(`issuing CA ${ca1} \\(1 of 2\\)[\\s\\S]*issuing CA ${ca2} \\(2 of 2\\)`), 'progress per CA on stderr');

  // Idempotent: the second run registers nothing and changes nothing.
  const held = JSON.stringify([...fake.state.cas.values()]);
  const again = await capture(() => main(['setup', '--registry', 'aws', '--config', pki.configPath]));
  t.equal(again.result, 0, again.err);
  t.match(again.out, new RegExp(`^issuing CA ${ca1}\\n  registry: aws\\n[\\s\\S]*  created: false\\n[\\s\\S]*^issuing CA ${ca2}\\n[\\s\\S]*  created: false`, 'm'), 'one block per CA');
  t.equal(JSON.stringify([...fake.state.cas.values()]), held, 'the cloud holds the same');

  // --ca: only that CA (the key id as `keyline ca status` prints it; upper case and colons accepted).
  fake.state.cas.clear();
  const only = await capture(() => main(['setup', '--registry', 'aws', '--ca', ca2.toUpperCase().replace(/(..)(?!$)/g, '$1:'), '--json', '--config', pki.configPath]));
  t.equal(only.result, 0, only.err);
  t.match(JSON.parse(only.out), { caCertificateId: id2, cas: [{ keyId: ca2 }] });
  t.equal(JSON.parse(only.out).cas.length, 1);
  t.same([...fake.state.cas.keys()], [id2], 'only the CA named');

  const unknown = await capture(() => main(['setup', '--registry', 'aws', '--ca', 'ab'.repeat(20), '--config', pki.configPath]));
  t.equal(unknown.result, 1);
  t.match(unknown.err, /CA_UNKNOWN/);
  t.match(unknown.err, ca1);
  t.match(unknown.err, ca2, 'the refusal lists the known key ids');
  t.same([...fake.state.cas.keys()], [id2], 'nothing registered');
  t.match((await capture(() => main(['setup', '--help']))).out, /--ca KEYID/);
});

t.test('Azure DPS enrollment-group: one group per CA (the configured id, then id-KEYID), rerun idempotent', async (t) => {
  const fake = await azureGroup(t);
  const first = await capture(() => main(['setup', '--registry', 'azure', '--json', '--config', pki.configPath]));
  t.equal(first.result, 0, first.err);
  const second = `keyline-line-${ca2.slice(0, 16)}`;
  t.match(JSON.parse(first.out), { enrollmentGroupId: 'keyline-line', created: true, cas: [{ keyId: ca1, enrollmentGroupId: 'keyline-line' }, { keyId: ca2, enrollmentGroupId: second, created: true }] });
  t.same([...fake.state.groups.keys()].sort(), ['keyline-line', second].sort());
  t.equal(new X509Certificate(fake.state.groups.get('keyline-line')!.pem).raw.equals(Buffer.from(ca1Der)), true, 'the configured group on the first CA');
  t.equal(new X509Certificate(fake.state.groups.get(second)!.pem).raw.equals(Buffer.from(ca2Der)), true, 'its own group on the new CA');

  const again = await capture(() => main(['setup', '--registry', 'azure', '--json', '--config', pki.configPath]));
  t.equal(again.result, 0, again.err);
  t.match(JSON.parse(again.out).cas, [{ enrollmentGroupId: 'keyline-line', created: false }, { enrollmentGroupId: second, created: false }]);
  t.equal(fake.state.groups.size, 2, 'no third group');
  t.same(fake.violations, []);
});

// Last: it revokes the first CA.
t.test('a CA the root revoked is never registered: skipped (ca.rootCrl or the imported root CRL), --ca naming it refused', async (t) => {
  await revokeFirst();
  const [id1, id2] = [awsCertificateId(ca1Der), awsCertificateId(ca2Der)];

  // The new root CRL as ca.rootCrl (dev config: root-ca.crl), not yet imported.
  const fromFile = await awsJitp(t);
  const r = await capture(() => main(['setup', '--registry', 'aws', '--json', '--config', pki.configPath]));
  t.equal(r.result, 0, r.err);
  t.match(JSON.parse(r.out), { caCertificateId: id2, cas: [{ keyId: ca2 }], skipped: [{ keyId: ca1, revoked: 'keyCompromise' }] });
  t.match(r.err, `issuing CA ${ca1}: skipped, revoked by the root (keyCompromise)`);
  t.same([...fromFile.state.cas.keys()], [id2], 'the revoked CA is not registered');
  t.notOk(fromFile.state.cas.has(id1));

  // Imported into the store (keyline ca import-crl), with no ca.rootCrl.
  t.equal((await runKeyline(['ca', 'import-crl', '--crl', join(dir, 'root-ca.crl'), '--config', pki.configPath])).code, 0);
  const fromStore = await awsJitp(t, { rootCrl: undefined });
  const named = await capture(() => main(['setup', '--registry', 'aws', '--ca', ca1, '--config', pki.configPath]));
  t.equal(named.result, 1);
  t.match(named.err, /CA_REVOKED/);
  const all = await capture(() => main(['setup', '--registry', 'aws', '--config', pki.configPath]));
  t.equal(all.result, 0, all.err);
  t.match(all.out, `issuing CA ${ca1}\n  skipped: revoked by the root (keyCompromise)`);
  t.same([...fromStore.state.cas.keys()], [id2]);
  t.same(fromStore.state.violations, []);
});
