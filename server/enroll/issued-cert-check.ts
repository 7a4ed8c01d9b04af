/**
 * DeviceTrust's fast path: the common case of a device certificate, checked with the strict DER
 * reader and one ECDSA verification instead of node's X509Certificate. On this machine OpenSSL 3
 * spends ~340 µs parsing a certificate and ~200 µs exporting its key, against ~100 µs for the
 * signature itself (bench:enroll profile), and every first hello paid all three.
 *
 * It only ever accepts: anything it does not recognise returns null and the full check
 * (device-trust.ts, node's parser) decides, with its own refusal. It recognises a certificate
 * whose issuer Name is byte for byte the issuing CA's subject (the device template copies it,
 * secure-element/atcacert/cert-fields.ts), whose AKI, when present, is the CA's SKI
 * (RFC 5280 §4.2.1.1), signed with ecdsa-with-SHA256 (the same AlgorithmIdentifier inside and
 * outside, RFC 5280 §4.1.1.2) by the CA's key, with a P-256 uncompressed key and a validity in
 * the two time forms RFC 5280 §4.1.2.5 allows. Such a certificate is one this CA signed, which is
 * what the full check establishes.
 */
import { verify, type KeyObject } from 'node:crypto';
import { childrenOf, readTlv, type Tlv } from '../../common/der/reader.js';
import { readCertFields, subjectKeyId } from '../../secure-element/atcacert/cert-fields.js';

/** The issuing CA as the fast path compares against it. */
export interface IssuingCaFacts {
  subjectDer: Buffer;
  /** Its subjectKeyIdentifier, when it has one. */
  ski: Buffer | undefined;
  key: KeyObject;
}

/** What the check learns from a certificate it accepts. */
export interface IssuedCertFacts {
  /** Raw X‖Y. */
  publicKey: Uint8Array;
  /** Lowercase hex, no leading zeros. */
  serialHex: string;
  notBefore: number;
  notAfter: number;
}

/** AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2), no parameters (RFC 5758 §3.2). */
const ECDSA_SHA256 = Buffer.from('300a06082a8648ce3d040302', 'hex');
const AKI = '2.5.29.35';

/** The facts of the issuing CA from its DER. */
export function issuingCaFacts(der: Uint8Array, key: KeyObject): IssuingCaFacts {
  const f = readCertFields(der);
  const ski = subjectKeyId(der, f);
  return { subjectDer: Buffer.from(der.subarray(f.subject.start, f.subject.end)), ski: ski ? Buffer.from(ski) : undefined, key };
}

/** The certificate's facts when it is recognised as issued by `ca`, else null (the full check decides). */
export function checkIssuedFast(der: Uint8Array, ca: IssuingCaFacts): IssuedCertFacts | null {
  const r = readIssued(der, ca);
  if (!r) return null;
  try {
    return verify('sha256', r.tbs, { key: ca.key, dsaEncoding: 'der' }, r.signature) ? r.facts : null;
  } catch {
    return null;
  }
}

/**
 * The facts of a certificate this PKI recorded when it issued it (the unit's certificate, matched
 * by fingerprint), when its issuer Name and AKI are `ca`'s: the issuance path signs with the CA
 * its AKI names and records exactly those bytes, so the signature needs no second check (the
 * store is trusted for the unit's key in the same way). Without an AKI, or naming another CA (one
 * rotated out keeps its Name), null: the full check decides.
 */
export function recordedIssuedFacts(der: Uint8Array, ca: IssuingCaFacts): IssuedCertFacts | null {
  const r = readIssued(der, ca);
  return r?.namesCa ? r.facts : null;
}

/** The structure the fast checks recognise, without the signature check; null for anything else. */
function readIssued(der: Uint8Array, ca: IssuingCaFacts): { facts: IssuedCertFacts; tbs: Uint8Array; signature: Uint8Array; namesCa: boolean } | null {
  try {
    const f = readCertFields(der);
    if (f.publicKeyOffset < 0) return null;
    const bytes = (t: Tlv) => Buffer.from(der.buffer, der.byteOffset + t.start, t.end - t.start);
    const outerAlg = childrenOf(der, f.cert)[1];
    const tbsFields = childrenOf(der, f.tbs);
    const innerAlg = tbsFields[tbsFields[0]?.tag === 0xa0 ? 2 : 1];
    if (!outerAlg || !innerAlg || !bytes(outerAlg).equals(ECDSA_SHA256) || !bytes(innerAlg).equals(ECDSA_SHA256)) return null;
    if (!bytes(f.issuer).equals(ca.subjectDer)) return null;
    // RFC 5280 §4.2.1.1: a keyIdentifier in the AKI must be the CA's SKI (none: nothing to compare, as OpenSSL does).
    const aki = f.extensions.get(AKI);
    const akiId = aki ? akiKeyId(der, aki.value) : undefined;
    if (akiId && !(ca.ski && akiId.equals(ca.ski))) return null;
    const notBefore = derTime(der, f.notBefore);
    const notAfter = derTime(der, f.notAfter);
    // BIT STRING: a leading 0 (no unused bits), then the DER ECDSA-Sig-Value.
    const sig = f.signatureValue;
    if (sig.end === sig.value || der[sig.value] !== 0 || Number.isNaN(notBefore) || Number.isNaN(notAfter)) return null;
    const serial = der.subarray(f.serial.value, f.serial.end);
    if (f.serial.tag !== 0x02 || serial.length === 0 || serial[0]! & 0x80) return null;
    return {
      facts: {
        publicKey: der.slice(f.publicKeyOffset, f.publicKeyOffset + 64),
        serialHex: Buffer.from(serial).toString('hex').replace(/^0+(?=.)/, ''),
        notBefore, notAfter,
      },
      tbs: der.subarray(f.tbs.start, f.tbs.end), signature: der.subarray(sig.value + 1, sig.end), namesCa: akiId !== undefined,
    };
  } catch {
    return null;
  }
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }: the keyIdentifier, if any. */
function akiKeyId(der: Uint8Array, extnValue: Tlv): Buffer | undefined {
  const seq = readTlv(der, extnValue.value, extnValue.end);
  const first = seq.tag === 0x30 && seq.end > seq.value ? readTlv(der, seq.value, seq.end) : undefined;
  return first?.tag === 0x80 ? Buffer.from(der.subarray(first.value, first.end)) : undefined;
}

/** UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1-2) as epoch ms; NaN otherwise. */
function derTime(der: Uint8Array, t: Tlv): number {
  const s = Buffer.from(der.subarray(t.value, t.end)).toString('latin1');
  let m: RegExpExecArray | null;
  if (t.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, below is 20YY.
    return Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  if (t.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  return NaN;
}
