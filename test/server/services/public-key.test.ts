import { generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import t from 'tap';
import * as x509 from '../../../common/x509.js';
import { parseCsr, parsePublicKey, spkiToRaw } from '../../../server/services/public-key.js';
import { assertOnP256 } from '../../../server/services/p256-point.js';
import { p256Key } from './helpers.js';

// The P-256 base point G (SEC 2 v2 §2.4.2 / FIPS 186-4 D.1.2.3): a known on-curve vector.
const G = '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296' + '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5';
const P = 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff';

t.test('raw hex: 128 digits, or 130 with the 04 prefix', async (t) => {
  t.equal(Buffer.from(parsePublicKey(G)).toString('hex'), G);
  t.equal(Buffer.from(parsePublicKey('04' + G.toUpperCase())).toString('hex'), G);
  t.throws(() => parsePublicKey('05' + G), { code: 'INVALID_PUBLIC_KEY' });
  t.throws(() => parsePublicKey(G.slice(0, 126)), { code: 'INVALID_PUBLIC_KEY' });
  t.throws(() => parsePublicKey('zz' + G.slice(2)), { code: 'INVALID_PUBLIC_KEY' });
});

t.test('off-curve points are refused', async (t) => {
  // G with y+1: same length and format, not on the curve.
  const offCurve = G.slice(0, 127) + (G.endsWith('5') ? '6' : '5');
  t.throws(() => parsePublicKey(offCurve), { code: 'POINT_NOT_ON_CURVE' });
  t.throws(() => parsePublicKey('00'.repeat(64)), { code: 'POINT_NOT_ON_CURVE' }, 'the all-zero "infinity" encoding');
  t.throws(() => parsePublicKey(P + G.slice(64)), { code: 'POINT_NOT_ON_CURVE' }, 'x = p is out of the field');
  // x + p ≡ x (mod p) would pass a careless check; coordinates must be below p.
  t.throws(() => assertOnP256(new Uint8Array(63)), { code: 'INVALID_PUBLIC_KEY' });
  for (let i = 0; i < 20; i++) t.doesNotThrow(() => parsePublicKey(p256Key().hex));
});

t.test('SPKI base64 DER: P-256 accepted, other curves and algorithms named', async (t) => {
  const k = p256Key();
  t.equal(Buffer.from(parsePublicKey(k.spki)).toString('hex'), k.hex);
  const spki = (kp: { publicKey: KeyObject }) => kp.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  t.throws(() => parsePublicKey(spki(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }))), { code: 'UNSUPPORTED_CURVE', message: /P-384/ });
  t.throws(() => parsePublicKey(spki(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }))), { code: 'UNSUPPORTED_CURVE', message: /secp256k1/ });
  t.throws(() => parsePublicKey(spki(generateKeyPairSync('ed25519'))), { code: 'UNSUPPORTED_CURVE', message: /Ed25519/ });
  t.throws(() => parsePublicKey(spki(generateKeyPairSync('rsa', { modulusLength: 1024 }))), { code: 'UNSUPPORTED_CURVE', message: /RSA/ });
  const der = Buffer.from(k.spki, 'base64');
  t.throws(() => parsePublicKey(der.subarray(0, der.length - 10).toString('base64')), { code: 'MALFORMED_DER' }, 'truncated DER');
  // The same key as a compressed point (SEC 1 §2.3.3): not what a chip gives, refused plainly.
  const compressed = Buffer.from(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }));
  const c = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), Buffer.from([0x02]), compressed.subarray(-64, -32)]);
  t.throws(() => spkiToRaw(c), { code: 'INVALID_PUBLIC_KEY' });
  // An SPKI carrying an off-curve point.
  const bad = Buffer.from(der);
  bad[bad.length - 1]! ^= 1;
  t.throws(() => parsePublicKey(bad.toString('base64')), { code: 'POINT_NOT_ON_CURVE' });
});

async function makeCsr(curve: 'P-256' | 'P-384'): Promise<{ pem: string; raw: Buffer }> {
  const alg = { name: 'ECDSA', namedCurve: curve, hash: curve === 'P-256' ? 'SHA-256' : 'SHA-384' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=0123456789ABCDEFEE', keys, signingAlgorithm: alg });
  const raw = Buffer.from(await webcrypto.subtle.exportKey('raw', keys.publicKey)).subarray(1);
  return { pem: csr.toString('pem'), raw };
}

t.test('CSR: verified, key extracted; flipped signature, other curve and garbage refused', async (t) => {
  const { pem, raw } = await makeCsr('P-256');
  const parsed = await parseCsr(pem);
  t.equal(Buffer.from(parsed.publicKey).toString('hex'), raw.toString('hex'));
  t.match(parsed.subject, /0123456789ABCDEFEE/);
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 3]! ^= 0x01; // inside the ECDSA s value: still parses, no longer verifies
  const flipped = new x509.Pkcs10CertificateRequest(der).toString('pem');
  await t.rejects(parseCsr(flipped), { code: 'CSR_SIGNATURE_INVALID' });
  await t.rejects(parseCsr((await makeCsr('P-384')).pem), { code: 'UNSUPPORTED_CURVE' });
  await t.rejects(parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'), { code: 'INVALID_CSR' });
  await t.rejects(parseCsr('not a csr'), { code: 'INVALID_CSR' });
});

t.test('cross-check with openssl: a CSR made by openssl parses to the same key', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const dir = t.testdir();
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir}/k.pem`, '-subj', '/CN=0123AABBCCDDEEFFEE', '-out', `${dir}/r.pem`], { stdio: 'ignore' });
  const pub = execFileSync('openssl', ['ec', '-in', `${dir}/k.pem`, '-pubout', '-outform', 'DER'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const { readFileSync } = await import('node:fs');
  const parsed = await parseCsr(readFileSync(`${dir}/r.pem`, 'utf8'));
  t.equal(Buffer.from(parsed.publicKey).toString('hex'), pub.subarray(-64).toString('hex'));
});
