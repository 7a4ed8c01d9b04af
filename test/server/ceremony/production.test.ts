/**
 * The production ceremony through the CLI (issue 19), each command in its own process as it runs
 * on the day: `ceremony root` (witnesses required, a line token refused, a second root refused),
 * `csr` on the line, `sign-csr` extending the transcript (CDP = the root CRL URL), `verify-transcript`
 * (and a tampered copy refused), `revoke-issuing` and `crl` (root CRL numbers and entries, read by
 * OpenSSL), `audit import` (idempotent), `ca import-crl` (CRL_NOT_NEWER the second time) and
 * `ca status` reporting the revoked CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openPkcs11Module } from '../../../server/hsm/pkcs11-module.js';
import { initSoftHsmToken, randomPin, writeSoftHsmConf } from '../../../server/hsm/softhsm.js';
import { runKeyline } from '../../helpers/keyline-cli.js';

const run = runKeyline;

const dir = t.testdir();
const tokens = join(dir, 'tokens');
mkdirSync(tokens, { mode: 0o700 });
const conf = writeSoftHsmConf(tokens);
const pin = { root: join(tokens, 'root.pin'), line: join(tokens, 'line.pin') };
writeFileSync(pin.root, randomPin(), { mode: 0o600 });
writeFileSync(pin.line, randomPin(), { mode: 0o600 });
const p11 = openPkcs11Module({ softhsmConf: conf });
initSoftHsmToken(p11, { label: 'prod-root', soPin: randomPin(), userPin: readFileSync(pin.root, 'utf8') });
initSoftHsmToken(p11, { label: 'prod-line', soPin: randomPin(), userPin: readFileSync(pin.line, 'utf8') });
p11.release();

const ceremony = join(dir, 'ceremony');
const line = join(dir, 'line');
mkdirSync(line);
const ROOT_CRL_URL = 'http://pki.factory.example/crl/root.crl';
const rootToken = ['--token', 'prod-root', '--pin-file', pin.root, '--softhsm-conf', conf];
const witnesses = ['--witness', 'Alice Custodian', '--witness', 'Bob Custodian'];
const lineConfig = join(line, 'keyline.json');
writeFileSync(lineConfig, JSON.stringify({
  hsm: { softhsmConf: conf, tokenLabel: 'prod-line', pin: { file: pin.line }, issuingKey: 'pkcs11:token=prod-line;object=issuing-ca' },
  ca: { rootCert: 'root-ca.pem', issuingCert: 'issuing-ca.pem', crlUrl: 'http://127.0.0.1:8080/crl/issuing.crl', ocspUrl: 'http://127.0.0.1:8080/ocsp' },
  store: { url: 'sqlite:keyline.db' },
}));

t.test('ceremony root: witnesses required, the line token refused, then the root', async (t) => {
  const subject = ['--subject', 'CN=Acme Root CA, O=Acme'];
  const alone = await run(['ceremony', 'root', ...rootToken, ...subject, '--out', ceremony, '--witness', 'Alice Custodian']);
  t.equal(alone.code, 1);
  t.match(alone.stderr, /WITNESSES_REQUIRED: --witness: 1 distinct witness\(es\) named, at least 2 required/);
  const onLine = await run(['ceremony', 'root', '--token', 'prod-line', '--pin-file', pin.line, '--softhsm-conf', conf, ...subject, ...witnesses, '--out', join(dir, 'x'), '--config', lineConfig]);
  t.equal(onLine.code, 1);
  t.match(onLine.stderr, /LINE_TOKEN: --token 'prod-line' is configured as the line token/);

  const r = await run(['ceremony', 'root', ...rootToken, ...subject, ...witnesses, '--out', ceremony, '--crl-url', ROOT_CRL_URL, '--validity-years', '25', '--json']);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { fingerprintSha256: string; keyRef: string; crlNumber: number; witnesses: string[] };
  t.match(out.keyRef, /^pkcs11:token=prod-root;object=root-ca(;|$)/);
  t.same(out.witnesses, ['Alice Custodian', 'Bob Custodian']);
  const x = execFileSync('openssl', ['x509', '-in', join(ceremony, 'root-ca.pem'), '-noout', '-text', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  t.match(x, /CA:TRUE, pathlen:1/);
  t.match(x, /Certificate Sign, CRL Sign/);
  t.match(x, /Subject Key Identifier/);
  t.match(x, /Subject: CN ?= ?Acme Root CA, O ?= ?Acme/);
  t.ok(x.includes(`Fingerprint=${out.fingerprintSha256}`), 'the printed fingerprint is OpenSSL\'s');
  t.match(execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(ceremony, 'root-ca.crl'), '-noout', '-text'], { encoding: 'utf8' }), /CRL Number: \s*1\s[\s\S]*No Revoked Certificates/);

  const twice = await run(['ceremony', 'root', ...rootToken, ...subject, ...witnesses, '--out', join(dir, 'again')]);
  t.equal(twice.code, 1);
  t.match(twice.stderr, /ROOT_KEY_EXISTS: token 'prod-root' already holds a private key labelled 'root-ca'/);
  const sameFolder = await run(['ceremony', 'root', ...rootToken, ...subject, ...witnesses, '--out', ceremony]);
  t.match(sameFolder.stderr, /PKI_EXISTS/);
});

t.test('csr on the line, sign-csr offline: witnessed, in the transcript, CDP = the root CRL', async (t) => {
  writeFileSync(join(line, 'root-ca.pem'), readFileSync(join(ceremony, 'root-ca.pem')));
  const csr = await run(['ceremony', 'csr', '--config', lineConfig, '--org', 'Acme', '--out', join(line, 'issuing-ca.csr')]);
  t.equal(csr.code, 0, csr.stderr);
  const sign = ['ceremony', 'sign-csr', '--csr', join(line, 'issuing-ca.csr'), '--root-cert', join(ceremony, 'root-ca.pem'), '--root-key', 'pkcs11:token=prod-root;object=root-ca',
    '--pin-file', pin.root, '--softhsm-conf', conf, '--out', join(line, 'issuing-ca.pem')];
  const unwitnessed = await run(sign);
  t.equal(unwitnessed.code, 1);
  t.match(unwitnessed.stderr, /WITNESSES_REQUIRED/);
  const signed = await run([...sign, ...witnesses, '--json']);
  t.equal(signed.code, 0, signed.stderr);
  t.match(JSON.parse(signed.stdout), { crlUrl: ROOT_CRL_URL, transcript: join(ceremony, 'ceremony-transcript.jsonl') });
  const x = execFileSync('openssl', ['x509', '-in', join(line, 'issuing-ca.pem'), '-noout', '-text'], { encoding: 'utf8' });
  t.match(x, /X509v3 CRL Distribution Points:[\s\S]*URI:http:\/\/pki\.factory\.example\/crl\/root\.crl/);
  t.match(execFileSync('openssl', ['verify', '-CAfile', join(ceremony, 'root-ca.pem'), join(line, 'issuing-ca.pem')], { encoding: 'utf8' }), /OK/);
});

t.test('verify-transcript: every link and signature; a changed entry is named', async (t) => {
  const ok = await run(['ceremony', 'verify-transcript', '--transcript', join(ceremony, 'ceremony-transcript.jsonl'), '--root-cert', join(ceremony, 'root-ca.pem')]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /1\. .* root by .*, witnesses Alice Custodian, Bob Custodian: root 'CN=Acme Root CA, O=Acme'/);
  t.match(ok.stdout, /2\. .* sign-csr by .*: issuing CA 'O=Acme, CN=Acme Issuing CA'/);
  t.match(ok.stdout, /transcript OK: 2 entries/);
  const lines = readFileSync(join(ceremony, 'ceremony-transcript.jsonl'), 'utf8').split('\n');
  const tampered = join(dir, 'tampered.jsonl');
  writeFileSync(tampered, [lines[0]!.replace('Bob Custodian', 'Mallory'), ...lines.slice(1)].join('\n'));
  const bad = await run(['ceremony', 'verify-transcript', '--transcript', tampered, '--json']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /TRANSCRIPT_INVALID: transcript entry 1 \(seq 1, root\): hash does not match the entry/);
});

t.test('revoke-issuing and crl: the root CRL as OpenSSL reads it; the server side imports and obeys it', async (t) => {
  const revoke = await run(['ceremony', 'revoke-issuing', '--cert', join(line, 'issuing-ca.pem'), '--reason', 'keyCompromise', ...rootToken, ...witnesses, '--out', ceremony, '--json']);
  t.equal(revoke.code, 0, revoke.stderr);
  const serial = (JSON.parse(revoke.stdout) as { serial: string }).serial;
  const crl2 = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(ceremony, 'root-ca.crl'), '-noout', '-text'], { encoding: 'utf8' });
  t.match(crl2, /CRL Number: \s*2\s/);
  t.match(crl2.toLowerCase(), new RegExp(`serial number: ${serial}[\\s\\S]*key compromise`));
  const yearly = await run(['ceremony', 'crl', ...rootToken, ...witnesses, '--out', ceremony, '--crl-days', '400']);
  t.equal(yearly.code, 0, yearly.stderr);
  t.match(yearly.stdout, /root CRL number 3, next update/);
  t.match(execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(ceremony, 'root-ca.crl'), '-noout', '-text'], { encoding: 'utf8' }).toLowerCase(), new RegExp(`crl number: \\s*3\\s[\\s\\S]*serial number: ${serial}`));

  const imported = await run(['audit', 'import', '--transcript', join(ceremony, 'ceremony-transcript.jsonl'), '--config', lineConfig, '--json']);
  t.equal(imported.code, 0, imported.stderr);
  t.match(JSON.parse(imported.stdout), { imported: 4, skipped: 0 });
  t.match(JSON.parse((await run(['audit', 'import', '--transcript', join(ceremony, 'ceremony-transcript.jsonl'), '--config', lineConfig, '--json'])).stdout), { imported: 0, skipped: 4 });
  t.match((await run(['audit', 'verify', '--config', lineConfig])).stdout, /audit log OK/);

  const crl = await run(['ca', 'import-crl', '--crl', join(ceremony, 'root-ca.crl'), '--config', lineConfig]);
  t.equal(crl.code, 0, crl.stderr);
  t.match(crl.stdout, /root CRL number 3 imported[\s\S]*revoked issuing CA serial .* \(key id [0-9a-f]+, configured: it issues nothing more\): keyCompromise/);
  const older = await run(['ca', 'import-crl', '--crl', join(ceremony, 'root-ca-2.crl'), '--config', lineConfig]);
  t.equal(older.code, 1);
  t.match(older.stderr, /CRL_NOT_NEWER/);
  const status = await run(['ca', 'status', '--config', lineConfig, '--json']);
  t.equal(status.code, 1, 'nothing may issue');
  const report = JSON.parse(status.stdout) as { ok: boolean; cas: Array<{ role: string; active: boolean; revoked: { reason: string } | null }>; rootCrl: { number: number } };
  t.match(report.cas, [{ role: 'root' }, { role: 'issuing', active: true, revoked: { reason: 'keyCompromise' } }]);
  t.equal(report.rootCrl.number, 3);
});
