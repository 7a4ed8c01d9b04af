/**
 * Azure DPS manual proof of possession after an issuing CA rotation (issue 19): DPS generates a
 * verification code per uploaded CA certificate, so `keyline registry setup --verification-code`
 * signs CN = code with ONE CA's key (named with --ca, or the only one listed), the one-value
 * config field caVerificationCode is refused when setup would cover several CAs, and each
 * verification certificate signed is an audited issuance (registry.verification-certificate).
 * Real SoftHSM keys, the fake DPS through the service SDK, OpenSSL checking the signatures.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { toPem } from '../../../common/pem.js';
import { main } from '../../../server/registry/cli.js';
import { capture } from '../audit/cli-fixture.js';
import type { FakeDps } from './fake-azure-dps.js';
import { makeRotationPki } from './rotation-pki.js';

const { pki, ca1Der, ca2Der, ca1, ca2, azureGroup, awsJitp, audited } = await makeRotationPki(t);
// 48 hex digits, as generate-verification-code answers (its documented example's shape).
const CODE_1 = 'A901A843EFF75419AC1F0EB460E85DF153092A0547AA30F5';
const CODE_2 = '3c5f0e9b7a214d6e8f90a1b2c3d4e5f60718293a4b5c6d7e';

/** A fresh fake DPS and keyline.json's 'azure' group section on it (`extra` merged in); `single` lists the first CA only. */
async function dpsGroup(t: Test, extra: Record<string, unknown> = {}, single = false): Promise<FakeDps> {
  const fake = await azureGroup(t, extra);
  if (single) {
    const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
    cfg.ca.issuing = cfg.ca.issuing.slice(0, 1);
    writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
  }
  return fake;
}

const setup = (...more: string[]) => capture(() => main(['setup', '--registry', 'azure', ...more, '--config', pki.configPath]));

const verificationAudit = () => audited('registry.verification-certificate');

/** Whether OpenSSL verifies `pem` as signed by the CA `caDer` (the CA as trust anchor: -partial_chain). */
function signedBy(pem: string, caDer: Uint8Array): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-pop-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), toPem(caDer));
    execFileSync('openssl', ['verify', '-partial_chain', '-CAfile', join(dir, 'ca.pem')], { input: pem, encoding: 'utf8', stdio: 'pipe' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const x509Field = (pem: string, ...args: string[]): string => execFileSync('openssl', ['x509', '-noout', ...args], { input: pem, encoding: 'utf8' }).trim();
const subjectOf = (pem: string): string => x509Field(pem, '-subject', '-nameopt', 'RFC2253');

t.test('one CA listed: --verification-code signs CN = code with that CA key (openssl), returned with its key id and audited', async (t) => {
  const fake = await dpsGroup(t, {}, true);
  const before = (await verificationAudit()).length;
  const r = await setup('--verification-code', CODE_1, '--json');
  t.equal(r.result, 0, r.err);
  const out = JSON.parse(r.out);
  t.equal(out.cas.length, 1);
  const pem = out.cas[0].verificationCertificate as string;
  t.match(out.cas[0], { keyId: ca1, verificationCaKeyId: ca1, enrollmentGroupId: 'keyline-line' });
  t.equal(out.verificationCertificate, pem, 'top level: the first (only) CA, as before');
  t.equal(subjectOf(pem), `subject=CN=${CODE_1}`);
  t.ok(signedBy(pem, ca1Der), 'signed by the issuing CA key');
  t.notOk(signedBy(pem, ca2Der), 'and by no other CA');
  t.match(r.err, `key of issuing CA ${ca1}`);

  const audit = (await verificationAudit()).slice(before);
  t.equal(audit.length, 1, 'one audit record for one certificate signed');
  const fingerprint = x509Field(pem, '-fingerprint', '-sha256').split('=')[1]!.replace(/:/g, '').toLowerCase();
  const serial = x509Field(pem, '-serial').split('=')[1]!.toLowerCase();
  t.match(audit[0], { action: 'registry.verification-certificate', actor: /^cli:/, subject: ca1, detail: { registry: 'azure', keyId: ca1, subject: `CN=${CODE_1}`, fingerprintSha256: fingerprint, certificateSerial: serial } });
  t.notMatch(JSON.stringify(audit), /SharedAccessKey|BEGIN/, 'neither the connection string nor the certificate body in the audit log');
  t.same(fake.violations, []);
});

t.test('two CAs listed: --verification-code without --ca is a usage error naming --ca; nothing is written or signed', async (t) => {
  const fake = await dpsGroup(t);
  const before = (await verificationAudit()).length;
  const r = await setup('--verification-code', CODE_1, '--json');
  t.equal(r.result, 2, 'exit code of a usage error');
  t.match(r.err, /--verification-code applies to one issuing CA/);
  t.match(r.err, /with --ca KEYID/);
  t.match(r.err, ca1);
  t.match(r.err, ca2, 'the refusal lists the key ids to choose from');
  t.equal(r.out, '');
  t.equal(fake.state.requests.length, 0, 'no DPS call');
  t.equal((await verificationAudit()).length, before, 'nothing signed');
});

t.test('two CAs listed: --ca + --verification-code signs for that CA only; a second run with the other CA\'s code verifies it in turn', async (t) => {
  const fake = await dpsGroup(t);
  const before = (await verificationAudit()).length;
  const r = await setup('--ca', ca2, '--verification-code', CODE_2, '--json');
  t.equal(r.result, 0, r.err);
  const out = JSON.parse(r.out);
  t.equal(out.cas.length, 1, 'only the CA named');
  t.match(out.cas[0], { keyId: ca2, verificationCaKeyId: ca2, enrollmentGroupId: 'keyline-line' }, 'the CA set up first takes the configured group id');
  const pem2 = out.cas[0].verificationCertificate as string;
  t.equal(subjectOf(pem2), `subject=CN=${CODE_2}`);
  t.ok(signedBy(pem2, ca2Der), 'signed by the CA named');
  t.notOk(signedBy(pem2, ca1Der), 'not by the other one');
  t.same([...fake.state.groups.keys()], ['keyline-line'], 'only that CA\'s group');

  const other = await setup('--ca', ca1, '--verification-code', CODE_1, '--json');
  t.equal(other.result, 0, other.err);
  const pem1 = JSON.parse(other.out).cas[0].verificationCertificate as string;
  t.equal(subjectOf(pem1), `subject=CN=${CODE_1}`);
  t.ok(signedBy(pem1, ca1Der));

  const audit = (await verificationAudit()).slice(before);
  t.match(audit, [{ subject: ca2, detail: { keyId: ca2, subject: `CN=${CODE_2}` } }, { subject: ca1, detail: { keyId: ca1, subject: `CN=${CODE_1}` } }], 'one record per certificate, per CA');
  t.same(fake.violations, []);
});

t.test('caVerificationCode with two CAs set up is CONFIG_INVALID naming the field and the fix; with --ca, or one CA listed, it still works', async (t) => {
  const fake = await dpsGroup(t, { caVerificationCode: CODE_1 });
  const before = (await verificationAudit()).length;
  const r = await setup('--json');
  t.equal(r.result, 1);
  t.match(r.err, /CONFIG_INVALID: registries\.azure\.caVerificationCode: one code, but this setup covers 2 issuing CAs/);
  t.match(r.err, /--ca KEYID/);
  t.match(r.err, /--verification-code/);
  t.equal(fake.state.groups.size, 0, 'no group written');
  t.equal((await verificationAudit()).length, before, 'no certificate signed');

  const one = await setup('--ca', ca1, '--json');
  t.equal(one.result, 0, one.err);
  const pem = JSON.parse(one.out).cas[0].verificationCertificate as string;
  t.equal(subjectOf(pem), `subject=CN=${CODE_1}`);
  t.ok(signedBy(pem, ca1Der));

  const single = await dpsGroup(t, { caVerificationCode: CODE_1 }, true);
  const alone = await setup('--json');
  t.equal(alone.result, 0, alone.err);
  t.match(JSON.parse(alone.out), { verificationCaKeyId: ca1, cas: [{ keyId: ca1, verificationCertificate: /BEGIN CERTIFICATE/ }] });
  t.equal((await verificationAudit()).length, before + 2);
  t.same([...fake.violations, ...single.violations], []);
});

t.test('a code not shaped as DPS gives it is refused: the flag as a usage error, the config field as CONFIG_INVALID', async (t) => {
  const fake = await dpsGroup(t, {}, true);
  for (const bad of ['not-hex!', 'ab'.repeat(33), '']) {
    const r = await setup('--verification-code', bad);
    t.equal(r.result, 2, `'${bad}'`);
    t.match(r.err, /--verification-code: a hex string of 1-64 characters/);
  }
  t.equal(fake.state.requests.length, 0);
  await dpsGroup(t, { caVerificationCode: 'CN=evil,O=x' }, true);
  const r = await setup();
  t.equal(r.result, 1);
  t.match(r.err, /CONFIG_INVALID[\s\S]*registries\.azure\.caVerificationCode: a hex string/);
});

t.test('AWS IoT JITP: the verification certificate it signs is audited too; --verification-code is not for it', async (t) => {
  const fake = await awsJitp(t);
  const before = (await verificationAudit()).length;
  const r = await capture(() => main(['setup', '--registry', 'aws', '--ca', ca2, '--config', pki.configPath]));
  t.equal(r.result, 0, r.err);
  const held = [...fake.state.cas.values()][0]!;
  const audit = (await verificationAudit()).slice(before);
  t.match(audit, [{ subject: ca2, detail: { registry: 'aws', keyId: ca2, certificateSerial: x509Field(held.verificationPem, '-serial').split('=')[1]!.toLowerCase() } }], 'the certificate AWS received');
  t.notMatch(JSON.stringify(audit), fake.credentials.secretAccessKey);

  const flag = await capture(() => main(['setup', '--registry', 'aws', '--ca', ca2, '--verification-code', CODE_1, '--config', pki.configPath]));
  t.equal(flag.result, 1);
  t.match(flag.err, /NOT_SUPPORTED: --verification-code/);
  t.equal((await verificationAudit()).length, before + 1, 'nothing signed');
});

t.test('--help describes the per-CA procedure', async (t) => {
  const help = (await capture(() => main(['setup', '--help']))).out;
  t.match(help, /--verification-code CODE/);
  t.match(help, /--ca KEYID --verification-code CODE/);
  t.match(help, /registry\.verification-certificate/);
});
