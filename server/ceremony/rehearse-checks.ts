/**
 * What the rehearsal checks the result with, from outside the server: HTTPS calls with a client
 * identity (as a station or an operator makes them), plain HTTP fetches of the published CRLs,
 * and OpenSSL (`openssl verify -crl_check_all`, `openssl ocsp`), the relying party's tool.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';

/** A client identity, PEM. */
export interface Identity {
  cert: string;
  key: string;
  ca: string;
}

/** A free TCP port on 127.0.0.1 (to write URLs into certificates before the server listens). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** One JSON call to the station API over mTLS; resolves with the status and the parsed body. */
export function apiCall(base: string, who: Identity, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(new URL(path, base), {
      method, cert: who.cert, key: who.key, ca: who.ca, agent: false,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        } catch (err) {
          reject(new KeylineError('BAD_SERVER_RESPONSE', `${method} ${path}: not JSON (${res.statusCode})`, { cause: err }));
        }
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** GETs a URL's bytes (CRLs over plain HTTP). */
export async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok) throw new KeylineError('BAD_SERVER_RESPONSE', `GET ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Runs openssl without blocking the event loop (the server may be answering it in this process); rejects when it is not installed. */
export function openssl(args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new KeylineError('NOT_SUPPORTED', 'openssl is needed for the rehearsal\'s checks and is not installed', { cause: err }));
      resolve({ ok: !err, out: `${stdout}${stderr}`.trim() });
    });
  });
}

/**
 * `openssl verify -crl_check_all` of a certificate through the issuing CA to the root, with the
 * CRLs as fetched (DER, converted to PEM files in `dir`): what a relying party checking the
 * whole chain's revocation concludes.
 */
export function verifyWithCrls(dir: string, p: { rootPem: string; issuingPem: string; certPem: string; crls: Buffer[]; name: string }): Promise<{ ok: boolean; out: string }> {
  const f = (n: string, text: string) => {
    const path = join(dir, `${p.name}-${n}`);
    writeFileSync(path, text);
    return path;
  };
  const crlArgs = p.crls.flatMap((der, i) => ['-CRLfile', f(`crl-${i}.pem`, toPem(der, 'X509 CRL'))]);
  return openssl(['verify', '-crl_check_all', '-CAfile', f('root.pem', p.rootPem), '-untrusted', f('issuing.pem', p.issuingPem), ...crlArgs, f('cert.pem', p.certPem)]);
}

/** `openssl ocsp` for one certificate against the server's responder; the status line and "Response verify OK". */
export function ocspCheck(dir: string, p: { rootPem: string; issuingPem: string; certPem: string; url: string; name: string }): Promise<{ ok: boolean; out: string }> {
  const f = (n: string, text: string) => {
    const path = join(dir, `${p.name}-${n}`);
    writeFileSync(path, text);
    return path;
  };
  const issuing = f('issuing.pem', p.issuingPem);
  return openssl(['ocsp', '-issuer', issuing, '-cert', f('cert.pem', p.certPem), '-url', p.url, '-CAfile', f('root.pem', p.rootPem), '-verify_other', issuing, '-no_nonce']);
}
