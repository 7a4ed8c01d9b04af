/**
 * EST from outside, with curl and openssl only (issue 17): an `est` section written into a dev
 * PKI's keyline.json, keys and CSRs made by `openssl`, requests sent by `curl`, answers decoded
 * by `openssl base64` and `openssl pkcs7 -print_certs`. Every command runs in a folder of the test.
 */
import { execFile } from 'node:child_process';
import { createECDH, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bitString, oid, seq, tlv } from '../../common/der/writer.js';
import type { TestPki } from './pki.js';

const run = promisify(execFile);

/** Adds (or replaces) the `est` section of the PKI's keyline.json. */
export function configureEst(pki: TestPki, est: Record<string, unknown>): void {
  const config = JSON.parse(readFileSync(pki.configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(pki.configPath, JSON.stringify({ ...config, est }, null, 2));
}

/** Runs openssl in `dir`; resolves with stdout. */
export async function openssl(dir: string, args: string[], input?: string): Promise<string> {
  const p = run('openssl', args, { cwd: dir, maxBuffer: 1 << 20 });
  if (input !== undefined) p.child.stdin!.end(input);
  return (await p).stdout;
}

/** A curl answer: status, raw header block, body text. */
export interface CurlAnswer {
  status: number;
  /** The header lines of the (last) answer, as sent. */
  headers: string[];
  body: string;
  header(name: string): string | undefined;
}

/** Runs `curl -sS -D <file> -o <file> ...args` in `dir` and reads the answer back. */
export async function curl(dir: string, args: string[]): Promise<CurlAnswer> {
  const n = Math.random().toString(36).slice(2);
  const [h, b] = [join(dir, `h-${n}.txt`), join(dir, `b-${n}.txt`)];
  await run('curl', ['-sS', '--max-time', '30', '-D', h, '-o', b, ...args], { cwd: dir });
  // A 401 that curl answers with credentials (--anyauth) leaves two header blocks: the last one is the answer.
  const blocks = readFileSync(h, 'latin1').split(/\r\n\r\n/).filter((x) => x.trim());
  const lines = blocks.at(-1)!.split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0]!)?.[1]);
  const headers = lines.slice(1);
  return {
    status, headers, body: readFileSync(b, 'latin1'),
    header: (name) => headers.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.replace(/^[^:]+:\s*/, ''),
  };
}

/** A P-256 key (PEM file) made by openssl. */
export async function newKey(dir: string, name: string): Promise<string> {
  await openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key.pem`]);
  return `${name}.key.pem`;
}

/** A CSR for `subject` (openssl -subj form) signed with `key`, as the base64 DER body EST takes (64-character lines). */
export async function csrBody(dir: string, key: string, subject: string, name: string, extra: string[] = []): Promise<string> {
  await openssl(dir, ['req', '-new', '-key', key, '-subj', subject, '-outform', 'DER', '-out', `${name}.csr.der`, ...extra]);
  await openssl(dir, ['base64', '-in', `${name}.csr.der`, '-out', `${name}.csr.b64`]);
  return `${name}.csr.b64`;
}

/** Decodes a certs-only answer body with `openssl base64 -d` and `openssl pkcs7 -print_certs`: the PEM certificates, in order. */
export async function printCerts(dir: string, body: string, name: string): Promise<{ text: string; pems: string[] }> {
  writeFileSync(join(dir, `${name}.p7.b64`), body);
  await openssl(dir, ['base64', '-d', '-in', `${name}.p7.b64`, '-out', `${name}.p7.der`]);
  const text = await openssl(dir, ['pkcs7', '-inform', 'DER', '-in', `${name}.p7.der`, '-print_certs']);
  const pems = [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)].map((m) => m[0]);
  return { text, pems };
}

/**
 * A P-256 PKCS#10 request built with node:crypto alone (DER): subject CN = `cn` (or the given
 * Name DER), and a challengePassword attribute when asked (RFC 7030 §3.5: the tls-unique value).
 */
export function buildCsr(cn: string, opts: { challengePassword?: string } = {}): { der: Buffer; rawHex: string; privateKey: KeyObject } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const point = ecdh.getPublicKey();
  const spki = Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), point]);
  const privateKey = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: ecdh.getPrivateKey().toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
  const subject = seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
  const attrs = opts.challengePassword === undefined ? [] : [seq(oid('1.2.840.113549.1.9.7'), tlv(0x31, tlv(0x0c, Buffer.from(opts.challengePassword))))];
  const info = seq(tlv(0x02, Uint8Array.of(0)), subject, spki, tlv(0xa0, ...attrs));
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  return { der: seq(info, seq(oid('1.2.840.10045.4.3.2')), bitString(signature)), rawHex: point.subarray(1).toString('hex'), privateKey };
}
