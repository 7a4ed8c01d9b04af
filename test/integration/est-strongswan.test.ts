/**
 * Issue 17, checked from outside with a widely used C EST client: strongSwan's `pki` (Debian
 * strongswan-pki; its own TLS stack, not OpenSSL's). Cisco's libest `estclient` is not packaged
 * by Debian or npm, so it cannot be installed here. The client fetches the CA certificates
 * (--estca), enrolls with HTTP Basic credentials (--est --userpass) and re-enrolls with the
 * issued certificate (--est --cert --key), each key and request made by `pki --gen` / `pki --req`.
 * strongSwan builds its path as <url>/.well-known/est/<op> (no label segment), so the default
 * label serves it, and its decoder reads a line break as data: that label answers in one line
 * (base64LineLength 0). Skipped, with the reason, where `pki` is absent.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { hashPassword } from '../../server/est/password-hash.js';
import { chipSerialHex } from '../helpers/device-keys.js';
import { configureEst } from '../helpers/est.js';
import { makeDevPki } from '../helpers/pki.js';
import { operatorFor, startTestServer } from '../helpers/server.js';

const run = promisify(execFile);

function skipReason(): string | false {
  try {
    const help = execFileSync('pki', ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /--est\b/.test(help) ? false : 'strongSwan pki has no --est (strongSwan 5.9.8 or later is needed)';
  } catch {
    return 'strongSwan pki is not installed (Debian: apt-get install strongswan-pki; scripts/setup installs it)';
  }
}

t.test('strongSwan pki --estca, --est (Basic), --est (re-enroll with the issued certificate)', { skip: skipReason() }, async (t) => {
  const pki = await makeDevPki(t);
  writeFileSync(join(pki.outDir, 'est.hash'), await hashPassword('ss-secret', { ln: 10, r: 8, p: 1 }));
  configureEst(pki, {
    defaultLabel: 'strongswan',
    labels: { strongswan: { workOrder: 'WO-SS', base64LineLength: 0, auth: { basic: { username: 'gw', passwordHash: { file: 'est.hash' } } } } },
  });
  const server = await startTestServer(t, pki);
  await operatorFor(t, pki, server.apiUrl).createWorkOrder({ id: 'WO-SS', product: 'Gateway', quota: 5 });
  const dir = join(pki.outDir, '..', 'strongswan');
  mkdirSync(dir, { recursive: true });
  const url = server.apiUrl;
  const sw = async (args: string[]) => (await run('pki', args, { cwd: dir, maxBuffer: 1 << 22 })).stdout;

  // --estca: the chain, checked against the root the client was given (TLS and certificate trust).
  await sw(['--estca', '--url', url, '--cacert', pki.rootCertPath, '--caout', 'cacert', '--outform', 'pem']);
  t.equal(readFileSync(join(dir, 'cacert.pem'), 'utf8').replace(/\s+/g, ''), readFileSync(pki.rootCertPath, 'utf8').replace(/\s+/g, ''), 'the root');
  t.match(execFileSync('openssl', ['x509', '-in', join(dir, 'cacert-1.pem'), '-noout', '-subject'], { encoding: 'utf8' }), /Issuing CA/, 'the issuing CA');

  // --est with Basic credentials (strongSwan sends them with the first request).
  const serial = chipSerialHex();
  writeFileSync(join(dir, 'dev.key.pem'), await sw(['--gen', '--type', 'ecdsa', '--size', '256', '--outform', 'pem']));
  writeFileSync(join(dir, 'dev.req.pem'), await sw(['--req', '--in', 'dev.key.pem', '--type', 'ecdsa', '--dn', `O=Gateway, CN=${serial}`, '--outform', 'pem']));
  const trust = ['--cacert', 'cacert.pem', '--cacert', 'cacert-1.pem'];
  await t.rejects(sw(['--est', '--url', url, '--in', 'dev.req.pem', ...trust, '--userpass', 'gw:wrong', '--outform', 'pem']), 'wrong credentials: the client fails');
  writeFileSync(join(dir, 'dev.pem'), await sw(['--est', '--url', url, '--in', 'dev.req.pem', ...trust, '--userpass', 'gw:ss-secret', '--outform', 'pem']));
  t.match(execFileSync('openssl', ['x509', '-in', join(dir, 'dev.pem'), '-noout', '-subject'], { encoding: 'utf8' }), new RegExp(`CN ?= ?${serial}`));

  // --est --cert --key: re-enrollment, authenticated by the issued certificate, for a new key.
  writeFileSync(join(dir, 'dev2.key.pem'), await sw(['--gen', '--type', 'ecdsa', '--size', '256', '--outform', 'pem']));
  writeFileSync(join(dir, 'dev2.req.pem'), await sw(['--req', '--in', 'dev2.key.pem', '--type', 'ecdsa', '--dn', `O=Gateway, CN=${serial}`, '--outform', 'pem']));
  writeFileSync(join(dir, 'dev2.pem'), await sw(['--est', '--url', url, '--in', 'dev2.req.pem', ...trust, '--cert', 'dev.pem', '--key', 'dev.key.pem', '--outform', 'pem']));
  const pub = (args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  t.equal(pub(['x509', '-in', 'dev2.pem', '-noout', '-pubkey']), pub(['pkey', '-in', 'dev2.key.pem', '-pubout']), 'the renewed certificate holds the new key');
  t.not(pub(['x509', '-in', 'dev2.pem', '-noout', '-serial']), pub(['x509', '-in', 'dev.pem', '-noout', '-serial']));
});
