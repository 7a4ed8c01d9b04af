/**
 * The CRL builder against OpenSSL: structure (v2, AKI, CRL Number, reason codes, UTCTime vs
 * GeneralizedTime), the signature, the empty-list rule and input validation.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { childrenOf, readTlv } from '../../../common/der/reader.js';
import { issueCrl } from '../../../server/ca/crl.js';
import type { Signer } from '../../../server/hsm/key-store.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
const signer: Signer = {
  keyRef: 'test', curve: 'P-256', publicKeySpki: async () => spki,
  sign: async (m) => new Uint8Array(sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  signDigest: async () => { throw new Error('unused'); },
};
// Name: CN=Test CA
const nameDer = Buffer.from('3012311030' + '0e06035504030c0754657374204341', 'hex');
const issuer = { signer, nameDer, keyIdHex: '0a0b0c0d' };
const dir = t.testdir();

function openssl(der: Buffer): string {
  const f = join(dir, 'x.crl');
  writeFileSync(f, der);
  const r = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', f, '-noout', '-text'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

function signatureValid(der: Buffer): boolean {
  const top = readTlv(der, 0, der.length);
  const [tbs, , sig] = childrenOf(der, top);
  return verify('sha256', der.subarray(tbs!.start, tbs!.end), publicKey, der.subarray(sig!.value + 1, sig!.end));
}

const thisUpdate = new Date('2026-11-25T10:00:00Z');
const nextUpdate = new Date('2026-11-26T10:00:00Z');

t.test('entries, reasons, number and AKI as OpenSSL reads them', async (t) => {
  const der = await issueCrl(issuer, {
    number: 300, thisUpdate, nextUpdate,
    entries: [
      { serialHex: '4abc', revokedAt: new Date('2026-11-25T09:00:00Z'), reason: 'keyCompromise' },
      { serialHex: 'ff01', revokedAt: new Date('2026-11-25T09:30:00Z'), reason: 'unspecified' },
      { serialHex: '7', revokedAt: new Date('2051-01-02T03:04:05Z'), reason: 'cessationOfOperation' },
    ],
  });
  const text = openssl(der);
  t.match(text, /Version 2/);
  t.match(text, /Issuer: CN\s?=\s?Test CA/);
  t.match(text, /Last Update: Nov 25 10:00:00 2026 GMT/);
  t.match(text, /Next Update: Nov 26 10:00:00 2026 GMT/);
  t.match(text, /X509v3 CRL Number: \n\s+300/);
  t.match(text, /Authority Key Identifier: \n\s+(keyid:)?0A:0B:0C:0D/);
  t.match(text, /Serial Number: 4ABC\n\s+Revocation Date: Nov 25 09:00:00 2026 GMT\n\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code: \n\s+Key Compromise/);
  // A top bit set gets a 00 pad; "unspecified" carries no reasonCode (RFC 5280 §5.3.1).
  t.match(text, /Serial Number: FF01\n\s+Revocation Date: Nov 25 09:30:00 2026 GMT\n\s+Serial Number: 07/);
  t.match(text, /Revocation Date: Jan {2}2 03:04:05 2051 GMT\n\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code: \n\s+Cessation Of Operation/, 'GeneralizedTime after 2049');
  t.ok(signatureValid(der), 'ECDSA signature over the TBSCertList verifies');
});

t.test('no revoked certificates: the list is absent (RFC 5280 §5.1.2.6)', async (t) => {
  const der = await issueCrl(issuer, { number: 1, thisUpdate, nextUpdate, entries: [] });
  t.match(openssl(der), /No Revoked Certificates/);
  t.ok(signatureValid(der));
});

t.test('100,000 entries build and sign in well under 5 s', async (t) => {
  const entries = Array.from({ length: 100_000 }, (_, i) => ({ serialHex: (0x4000000000000000n + BigInt(i)).toString(16), revokedAt: thisUpdate, reason: 'superseded' as const }));
  const start = performance.now();
  const der = await issueCrl(issuer, { number: 2, thisUpdate, nextUpdate, entries });
  const ms = performance.now() - start;
  t.comment(`100,000-entry CRL: ${Math.round(ms)} ms, ${der.length} bytes`);
  t.ok(ms < 5000, `${Math.round(ms)} ms`);
  t.ok(signatureValid(der));
  const count = openssl(der).match(/Serial Number:/g)?.length;
  t.equal(count, 100_000);
});

t.test('invalid input is refused with the field named', async (t) => {
  await t.rejects(issueCrl(issuer, { number: 1, thisUpdate, nextUpdate, entries: [{ serialHex: '00ab', revokedAt: thisUpdate, reason: 'keyCompromise' }] }), { code: 'VALIDATION_FAILED' });
  await t.rejects(issueCrl(issuer, { number: -1, thisUpdate, nextUpdate, entries: [] }), { code: 'VALIDATION_FAILED' });
  await t.rejects(issueCrl(issuer, { number: 1, thisUpdate: nextUpdate, nextUpdate: thisUpdate, entries: [] }), { code: 'VALIDATION_FAILED' });
});
