/**
 * Turns what a station sends into the chip's raw P-256 public key (X‖Y, 64 bytes): raw hex, an
 * SPKI in base64 DER, or a PKCS#10 CSR in PEM. Every form ends in the same on-curve check.
 */
import { ECParameters } from '@peculiar/asn1-ecc';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { ValidationError } from '../../common/errors.js';
import * as x509 from '../../common/x509.js';
import { csrSignatureValid } from './csr-signature.js';
import { assertOnP256 } from './p256-point.js';

/** id-ecPublicKey (RFC 5480 §2.1.1) and the secp256r1 named curve (RFC 5480 §2.1.1.1). */
const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const SECP256R1 = '1.2.840.10045.3.1.7';
/** Names for refusals, so the message says which curve or algorithm was sent. */
const KNOWN_OIDS: Record<string, string> = {
  '1.3.132.0.34': 'P-384', '1.3.132.0.35': 'P-521', '1.3.132.0.10': 'secp256k1',
  '1.3.101.112': 'Ed25519', '1.3.101.110': 'X25519', '1.2.840.113549.1.1.1': 'RSA',
};

/**
 * Parses `publicKey` (128 hex chars X‖Y, or 130 with the 04 prefix of SEC 1 §2.3.3; otherwise
 * base64 SPKI DER) into raw X‖Y checked on P-256.
 */
export function parsePublicKey(input: string): Uint8Array {
  const s = input.trim();
  if (/^[0-9a-fA-F]+$/.test(s) && (s.length === 128 || s.length === 130)) {
    if (s.length === 130 && !s.startsWith('04')) throw new ValidationError('INVALID_PUBLIC_KEY', `publicKey: 130 hex digits must start with 04 (uncompressed point), got '${s.slice(0, 2)}'`);
    const xy = new Uint8Array(Buffer.from(s.length === 130 ? s.slice(2) : s, 'hex'));
    assertOnP256(xy);
    return xy;
  }
  // Not raw hex of the right length: it must be base64 DER, and hex of a wrong length is refused
  // as such rather than misread as base64.
  // (A P-256 SPKI is 91 bytes, 124 base64 characters, so a 128/130-character string is meant as hex.)
  if (/^[0-9a-fA-F]*$/.test(s) || s.length === 128 || s.length === 130 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) {
    throw new ValidationError('INVALID_PUBLIC_KEY', `publicKey: expected 128 hex digits (X‖Y) or base64 SPKI DER, got ${s.length} characters`);
  }
  return spkiToRaw(new Uint8Array(Buffer.from(s, 'base64')));
}

/** Decodes SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7) to raw X‖Y on P-256. */
export function spkiToRaw(der: Uint8Array): Uint8Array {
  let spki: SubjectPublicKeyInfo;
  try {
    spki = AsnConvert.parse(der, SubjectPublicKeyInfo);
  } catch (err) {
    throw new ValidationError('MALFORMED_DER', `publicKey: not a SubjectPublicKeyInfo DER (${der.length} bytes)`, { cause: err });
  }
  const alg = spki.algorithm.algorithm;
  let curve: string | undefined;
  if (alg === ID_EC_PUBLIC_KEY && spki.algorithm.parameters) {
    try {
      curve = AsnConvert.parse(spki.algorithm.parameters, ECParameters).namedCurve;
    } catch (err) {
      throw new ValidationError('UNSUPPORTED_CURVE', 'publicKey: EC parameters are not a named curve', { cause: err });
    }
  }
  if (alg !== ID_EC_PUBLIC_KEY || curve !== SECP256R1) {
    const what = KNOWN_OIDS[curve ?? alg] ?? curve ?? alg;
    throw new ValidationError('UNSUPPORTED_CURVE', `publicKey: only P-256 (secp256r1) keys are accepted, got ${what}`, { detail: { algorithm: alg, curve } });
  }
  const point = new Uint8Array(spki.subjectPublicKey);
  // ATECC608 keys are uncompressed points (SEC 1 §2.3.3: 04 ‖ X ‖ Y).
  if (point.length !== 65 || point[0] !== 0x04) {
    throw new ValidationError('INVALID_PUBLIC_KEY', `publicKey: expected an uncompressed point (65 bytes, 04…), got ${point.length} bytes starting ${point[0]?.toString(16) ?? 'nothing'}`);
  }
  const xy = point.slice(1);
  assertOnP256(xy);
  // DER has one encoding per value (X.690 §10): the parser above tolerates trailing bytes, BER
  // lengths and extra fields, so the input must equal the one encoding of this key, or two
  // byte strings would name one key (issue 11: trailing bytes after an SPKI are refused).
  if (der.length !== P256_SPKI_PREFIX.length + 65 || !P256_SPKI_PREFIX.every((b, i) => der[i] === b) || der[P256_SPKI_PREFIX.length] !== 0x04) {
    throw new ValidationError('MALFORMED_DER', `publicKey: not the DER encoding of a P-256 SubjectPublicKeyInfo (${der.length} bytes; exactly ${P256_SPKI_PREFIX.length + 65} expected: no trailing bytes, extra fields or long-form lengths)`);
  }
  return xy;
}

/** SEQUENCE { SEQUENCE { id-ecPublicKey, secp256r1 }, BIT STRING (0 unused bits) … }: the fixed head of every P-256 SPKI. */
const P256_SPKI_PREFIX = Uint8Array.from(Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'));

/**
 * Parses a PKCS#10 request in PEM (RFC 2986), checks its key is on P-256 and verifies its
 * self-signature (proof that the requester holds the private key); returns raw X‖Y.
 */
export async function parseCsr(pem: string): Promise<{ publicKey: Uint8Array; subject: string }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (err) {
    throw new ValidationError('INVALID_CSR', 'csr: not a PKCS#10 certificate request in PEM', { cause: err });
  }
  // @peculiar/x509 decodes the key's algorithm parameters lazily, on first access: a request
  // whose parameters are not a curve it knows throws from this getter (issue 11 fuzz finding).
  let spki: Uint8Array;
  let subject: string;
  try {
    spki = new Uint8Array(csr.publicKey.rawData);
    subject = csr.subject;
  } catch (err) {
    throw new ValidationError('INVALID_CSR', 'csr: the request\'s subject or public key cannot be decoded', { cause: err });
  }
  const publicKey = spkiToRaw(spki);
  let valid: boolean;
  try {
    valid = csrSignatureValid(new Uint8Array(csr.rawData), spki);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError('CSR_SIGNATURE_INVALID', 'csr: signature could not be verified', { cause: err });
  }
  if (!valid) throw new ValidationError('CSR_SIGNATURE_INVALID', 'csr: signature does not verify with the request\'s own key');
  return { publicKey, subject };
}
