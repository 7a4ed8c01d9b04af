/**
 * Revocation end to end (issue 6): the real server (SoftHSM, SQLite, HTTPS + the public HTTP
 * listener), `openssl ocsp` against the responder (POST and GET, with and without nonce; good,
 * revoked, and unauthorized for serials never issued), `openssl crl` / `openssl verify
 * -crl_check` against the published CRL, POST /v1/revocations by role, and `keyline revoke` in
 * another process. The OCSP hardening of issue 11 is in issue-11-ocsp.test.ts.
 */
import t from 'tap';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, issueStationIdentity, officerFor, operatorFor, startTestServer } from '../helpers/server.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';

const pki = await makeDevPki(t);
const server = await startTestServer(t, pki);
const api = clientFor(t, pki, server.apiUrl);
const officer = officerFor(t, pki, server.apiUrl);
const operator = operatorFor(t, pki, server.apiUrl);
const dir = pki.outDir;
const bin = fileURLToPath(new URL('../../bin/keyline.ts', import.meta.url));
const ocspUrl = `${server.publicUrl}/ocsp`;

/** Issues one unit on `wo`; returns its chip serial, certificate serial and certificate file. */
async function issue(wo: string): Promise<{ serial: string; certificateSerial: string; file: string }> {
  const serial = chipSerialHex();
  const r = await api.issueUnit({ serial, publicKey: deviceKey().rawHex, workOrder: wo });
  const file = join(dir, `${serial}.pem`);
  writeFileSync(file, r.certificatePem);
  return { serial, certificateSerial: r.certificateSerial, file };
}

/** Runs a command without blocking the event loop (the server runs in this process); resolves with status and output. */
function run(cmd: string, args: string[]): Promise<{ status: number; out: string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr, stdout, stderr });
    });
  });
}

/** Runs openssl ocsp over POST; returns stdout + stderr (status line and "Response verify OK"). */
async function ocsp(args: string[]): Promise<string> {
  return (await run('openssl', ['ocsp', '-issuer', pki.issuingCertPath, '-url', ocspUrl, '-CAfile', pki.rootCertPath, '-verify_other', pki.issuingCertPath, ...args])).out;
}

/** Runs `keyline` in another process. */
function keyline(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', bin, ...args]);
}

async function crlDer(): Promise<Buffer> {
  const res = await fetch(`${server.publicUrl}/crl/issuing.crl`);
  t.equal(res.headers.get('content-type'), 'application/pkix-crl');
  return Buffer.from(await res.arrayBuffer());
}

function crlNumber(der: Buffer): number {
  const f = join(dir, 'crl-n.der');
  writeFileSync(f, der);
  const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', f, '-noout', '-crlnumber'], { encoding: 'utf8' });
  return parseInt(/crlNumber=(?:0x)?([0-9A-Fa-f]+)/.exec(text)![1]!, 16);
}

/** openssl verify with the published CRL; returns [exit status, output]. */
async function verifyWithCrl(certFile: string): Promise<[number | null, string]> {
  const der = join(dir, 'crl.der');
  writeFileSync(der, await crlDer());
  const pem = join(dir, 'crl.pem');
  execFileSync('openssl', ['crl', '-inform', 'DER', '-in', der, '-out', pem]);
  const r = spawnSync('openssl', ['verify', '-crl_check', '-CRLfile', pem, '-CAfile', pki.rootCertPath, '-untrusted', pki.issuingCertPath, certFile], { encoding: 'utf8' });
  return [r.status, r.stdout + r.stderr];
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

await operator.createWorkOrder({ id: 'WO-R1', product: 'Sensor', quota: 100 });
await operator.createWorkOrder({ id: 'WO-R2', product: 'Sensor', quota: 100 });
const good = await issue('WO-R1');
const victim = await issue('WO-R1');
const eol = [await issue('WO-R2'), await issue('WO-R2')];

t.test('the CRL verifies with openssl and lists nothing at first', async (t) => {
  const f = join(dir, 'first.der');
  writeFileSync(f, await crlDer());
  const chain = join(dir, 'chain.pem');
  writeFileSync(chain, readFileSync(pki.rootCertPath, 'utf8') + readFileSync(pki.issuingCertPath, 'utf8'));
  const r = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', f, '-CAfile', chain, '-noout', '-text'], { encoding: 'utf8' });
  t.match(r.stdout + r.stderr, /verify OK/);
  t.match(r.stdout, /No Revoked Certificates/);
  t.match(r.stdout, /X509v3 Authority Key Identifier/);
  const [status, out] = await verifyWithCrl(good.file);
  t.equal(status, 0, out);
});

t.test('good: POST with and without nonce, and the GET form', async (t) => {
  // Nonces are not echoed (responses are pre-signed, RFC 5019 §4): openssl warns and verifies.
  const withNonce = await ocsp(['-cert', good.file]);
  t.match(withNonce, /WARNING: no nonce in response/);
  t.match(withNonce, /Response verify OK/);
  t.match(withNonce, new RegExp(`${good.file}: good`));
  const noNonce = await ocsp(['-cert', good.file, '-no_nonce']);
  t.match(noNonce, /Response verify OK/);
  t.match(noNonce, /: good/);
  // GET (RFC 6960 Appendix A.1): openssl writes the request, fetch sends it in the path.
  const req = join(dir, 'req.der');
  execFileSync('openssl', ['ocsp', '-issuer', pki.issuingCertPath, '-cert', good.file, '-no_nonce', '-reqout', req]);
  const res = await fetch(`${ocspUrl}/${encodeURIComponent(readFileSync(req).toString('base64'))}`);
  t.equal(res.headers.get('content-type'), 'application/ocsp-response');
  const resp = join(dir, 'resp.der');
  writeFileSync(resp, Buffer.from(await res.arrayBuffer()));
  const r = await run('openssl', ['ocsp', '-respin', resp, '-issuer', pki.issuingCertPath, '-cert', good.file, '-CAfile', pki.rootCertPath, '-verify_other', pki.issuingCertPath]);
  t.match(r.out, /Response verify OK/);
  t.match(r.stdout, /: good/);
});

t.test('a serial this CA never issued: unauthorized, unsigned (RFC 5019 §2.2.2; issue 11)', async (t) => {
  t.match(await ocsp(['-serial', '0x4242424242424242', '-no_nonce']), /Responder Error: unauthorized \(6\)/);
  t.match(await ocsp(['-serial', '0x4242424242424242']), /Responder Error: unauthorized \(6\)/, 'with a nonce too');
});

t.test('POST /v1/revocations: stations are refused, the officer revokes', async (t) => {
  const before = crlNumber(await crlDer());
  const refused = await api.raw('POST', '/v1/revocations', { serial: victim.serial, reason: 'keyCompromise' });
  t.equal(refused.status, 403);
  t.match(refused.body, { error: { code: 'FORBIDDEN' } });
  const bad = await officer.raw('POST', '/v1/revocations', { serial: victim.serial, workOrder: 'WO-R1', reason: 'keyCompromise' });
  t.equal(bad.status, 400, 'two targets are refused');
  // Warm the OCSP cache with a "good" answer first: the revocation must drop it.
  t.match(await ocsp(['-cert', victim.file, '-no_nonce']), /: good/);
  const r = await officer.raw('POST', '/v1/revocations', { serial: victim.serial, reason: 'keyCompromise' });
  t.equal(r.status, 200);
  t.match(r.body, { revoked: [{ certificateSerial: victim.certificateSerial, serial: victim.serial, kind: 'device', reason: 'keyCompromise', alreadyRevoked: false }] });
  t.equal((await api.getUnit(victim.serial)).status, 'revoked');

  for (const args of [['-no_nonce'], []]) {
    const out = await ocsp(['-cert', victim.file, ...args]);
    t.match(out, /Response verify OK/);
    t.match(out, /: revoked/);
    t.match(out, /Reason: keyCompromise/);
    t.match(out, /Revocation Time:/);
  }
  t.match(await ocsp(['-cert', good.file, '-no_nonce']), /: good/, 'the other unit stays good');

  const der = await crlDer();
  t.ok(crlNumber(der) > before, 'CRL Number increased');
  const [status, out] = await verifyWithCrl(victim.file);
  t.not(status, 0);
  t.match(out, /certificate revoked/);
  const [okStatus, okOut] = await verifyWithCrl(good.file);
  t.equal(okStatus, 0, okOut);

  const again = await officer.raw('POST', '/v1/revocations', { serial: victim.serial, reason: 'superseded' });
  t.match(again.body, { revoked: [{ alreadyRevoked: true, reason: 'keyCompromise' }] }, 'revoking twice keeps the first');
  const unknown = await officer.raw('POST', '/v1/revocations', { serial: chipSerialHex(), reason: 'keyCompromise' });
  t.equal(unknown.status, 404);
});

t.test('keyline revoke --work-order in another process: the server notices within seconds', async (t) => {
  const before = crlNumber(await crlDer());
  t.match(await ocsp(['-cert', eol[0]!.file, '-no_nonce']), /: good/);
  const r = await keyline(['revoke', '--work-order', 'WO-R2', '--reason', 'cessationOfOperation', '--config', pki.configPath, '--json']);
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { revoked: { serial: string }[]; crlNumber: number | null; crlSignedBy: string };
  t.same(out.revoked.map((x) => x.serial).sort(), eol.map((u) => u.serial).sort());
  // The running server holds the 'crl-issuer' lease: the CLI leaves the signing to it.
  t.equal(out.crlSignedBy, 'server', 'the lease holder re-issues, not the CLI');
  await until('OCSP revoked', async () => /: revoked/.test(await ocsp(['-cert', eol[0]!.file, '-no_nonce'])));
  t.match(await ocsp(['-cert', eol[1]!.file, '-no_nonce']), /Reason: cessationOfOperation/);
  await until('the server to serve a new CRL', async () => crlNumber(await crlDer()) > before);
  const [status] = await verifyWithCrl(eol[1]!.file);
  t.not(status, 0);
});

t.test('keyline revoke --certificate-serial of a station: the API then refuses it', async (t) => {
  const st = await issueStationIdentity(pki, { id: 'station-x' });
  const c1 = clientFor(t, pki, server.apiUrl, st);
  t.equal((await c1.raw('GET', '/v1/work-orders/WO-R1')).status, 200);
  const r = await keyline(['revoke', '--certificate-serial', st.serialHex, '--reason', 'privilegeWithdrawn', '--config', pki.configPath]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, new RegExp(`revoked ${st.serialHex.replace(/^0+/, '')} privilegeWithdrawn`));
  const c2 = clientFor(t, pki, server.apiUrl, st);
  const refused = await c2.raw('GET', '/v1/work-orders/WO-R1');
  t.equal(refused.status, 403);
  t.match(refused.body, { error: { code: 'CERTIFICATE_REVOKED' } });
  const usage = await keyline(['revoke', '--serial', good.serial, '--config', pki.configPath]);
  t.equal(usage.status, 2, 'no --reason: usage error');
});

t.test('keyline revoke with no server running signs the CRL itself (the lease is free)', async (t) => {
  const victim = await issue('WO-R1');
  const second = await issue('WO-R1');
  await server.close();
  const r = await keyline(['revoke', '--serial', victim.serial, '--reason', 'keyCompromise', '--config', pki.configPath, '--json']);
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { crlNumber: number; crlSignedBy: string };
  t.equal(out.crlSignedBy, 'cli');
  // The CLI released its lease: the next CLI run takes it again.
  const again = await keyline(['revoke', '--serial', second.serial, '--reason', 'keyCompromise', '--config', pki.configPath, '--json']);
  const out2 = JSON.parse(again.stdout) as { crlNumber: number; crlSignedBy: string };
  t.equal(out2.crlSignedBy, 'cli');
  t.ok(out2.crlNumber > out.crlNumber, 'CRL numbers keep increasing');
});
