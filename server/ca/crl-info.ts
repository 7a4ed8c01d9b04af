/**
 * Reading a CRL back (RFC 5280 §5.1): the facts Keyline acts on (issuer, AKI, CRL Number,
 * thisUpdate, nextUpdate, revoked serials) and its signature check. Used for the root's CRL (an
 * ARL: the server refuses to issue with a CA it lists) and to tell which issuing CA a stored CRL
 * belongs to. Built on the strict DER reader; the entries are read only when asked for, so
 * finding the AKI of a CRL with 100,000 entries costs no walk over them.
 */
import { createPublicKey, verify } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { childrenOf, expectTlv, integerHex, oidText, readTlv, unsignedIntegerBytes, type Tlv } from '../../common/der/reader.js';
import { CRL_REASON_CODES } from './crl.js';
import type { RevocationReason } from '../../common/protocol/revocation.js';

/** One revoked certificate as a CRL lists it. */
export interface CrlInfoEntry {
  /** Lowercase hex, no leading zeros. */
  serialHex: string;
  revokedAt: Date;
  reason: RevocationReason;
}

/** A parsed CRL. */
export interface CrlInfo {
  der: Uint8Array;
  /** The issuer Name, DER. */
  issuerNameDer: Uint8Array;
  /** The AKI's keyIdentifier, lowercase hex (null when absent). */
  authorityKeyIdHex: string | null;
  /** The CRL Number (null when absent). */
  number: number | null;
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** The revoked certificates (read on first call). */
  entries(): CrlInfoEntry[];
  /** True when the signature verifies with `spki` (ECDSA, DER signature value). */
  signedBy(spki: Uint8Array): boolean;
}

const OID_AKI = '2.5.29.35';
const OID_CRL_NUMBER = '2.5.29.20';
const OID_REASON_CODE = '2.5.29.21';
const HASH_OF: Record<string, string> = { '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384', '1.2.840.10045.4.3.4': 'sha512' };
const REASON_OF = new Map(Object.entries(CRL_REASON_CODES).map(([name, code]) => [code, name as RevocationReason]));

const bad = (why: string, cause?: unknown): never => {
  throw new KeylineError('CRL_INVALID', `crl: ${why}`, cause === undefined ? {} : { cause });
};

/** Parses a DER CertificateList; CRL_INVALID names what is wrong. */
export function parseCrl(der: Uint8Array): CrlInfo {
  try {
    return parse(der);
  } catch (err) {
    if (err instanceof KeylineError && err.code === 'CRL_INVALID') throw err;
    return bad(`not a DER CertificateList (${(err as Error).message})`, err);
  }
}

function parse(der: Uint8Array): CrlInfo {
  const top = expectTlv(der, 0, der.length, 0x30, 'CertificateList');
  if (top.end !== der.length) bad('trailing bytes after the CertificateList');
  const [tbs, sigAlg, sig] = childrenOf(der, top);
  if (!tbs || tbs.tag !== 0x30 || !sigAlg || !sig || sig.tag !== 0x03) return bad('CertificateList is not tbsCertList, signatureAlgorithm, signatureValue');
  const fields = childrenOf(der, tbs);
  let i = 0;
  if (fields[i]?.tag === 0x02) i++; // version v2
  i++; // signature AlgorithmIdentifier
  const issuer = fields[i++];
  const thisUpdate = fields[i++];
  if (!issuer || issuer.tag !== 0x30 || !thisUpdate) return bad('tbsCertList lacks issuer or thisUpdate');
  const nextUpdate = fields[i]?.tag === 0x17 || fields[i]?.tag === 0x18 ? fields[i++] : undefined;
  const revoked = fields[i]?.tag === 0x30 ? fields[i++] : undefined;
  const extsWrapper = fields[i]?.tag === 0xa0 ? fields[i++] : undefined;
  const exts = extensionsOf(der, extsWrapper);
  const aki = exts.get(OID_AKI);
  const number = exts.get(OID_CRL_NUMBER);
  let entries: CrlInfoEntry[] | undefined;
  return {
    der,
    issuerNameDer: der.subarray(issuer.start, issuer.end),
    authorityKeyIdHex: aki ? akiKeyId(der, aki) : null,
    number: number ? Number.parseInt(integerHex(der, readTlv(der, number.value, number.end)), 16) : null,
    thisUpdate: timeOf(der, thisUpdate),
    nextUpdate: nextUpdate ? timeOf(der, nextUpdate) : null,
    entries: () => (entries ??= revoked ? childrenOf(der, revoked).map((e) => entryOf(der, e)) : []),
    signedBy(spki) {
      const hash = HASH_OF[oidText(der, readTlv(der, sigAlg.value, sigAlg.end))];
      if (!hash) return false;
      try {
        const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
        return verify(hash, der.subarray(tbs.start, tbs.end), { key, dsaEncoding: 'der' }, der.subarray(sig.value + 1, sig.end));
      } catch {
        return false;
      }
    },
  };
}

/** extnID → the extnValue OCTET STRING's contents, from a [0] EXPLICIT Extensions wrapper. */
function extensionsOf(der: Uint8Array, wrapper: Tlv | undefined): Map<string, Tlv> {
  const out = new Map<string, Tlv>();
  if (!wrapper) return out;
  const list = expectTlv(der, wrapper.value, wrapper.end, 0x30, 'Extensions');
  for (const ext of childrenOf(der, list)) {
    const parts = childrenOf(der, ext);
    const value = parts[parts.length - 1]!;
    if (value.tag !== 0x04) bad('extension value is not an OCTET STRING');
    out.set(oidText(der, parts[0]!), value);
  }
  return out;
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... } (RFC 5280 §4.2.1.1). */
function akiKeyId(der: Uint8Array, value: Tlv): string | null {
  const seq = expectTlv(der, value.value, value.end, 0x30, 'AuthorityKeyIdentifier');
  const first = childrenOf(der, seq)[0];
  return first?.tag === 0x80 ? Buffer.from(der.subarray(first.value, first.end)).toString('hex') : null;
}

function entryOf(der: Uint8Array, e: Tlv): CrlInfoEntry {
  const [serial, date, extsSeq] = childrenOf(der, e);
  if (!serial || !date) return bad('revokedCertificates entry lacks serial or revocationDate');
  let reason: RevocationReason = 'unspecified';
  if (extsSeq) {
    for (const ext of childrenOf(der, extsSeq)) {
      const parts = childrenOf(der, ext);
      if (oidText(der, parts[0]!) !== OID_REASON_CODE) continue;
      const v = parts[parts.length - 1]!;
      const en = expectTlv(der, v.value, v.end, 0x0a, 'CRLReason');
      reason = REASON_OF.get(der[en.value]!) ?? bad(`unknown reasonCode ${der[en.value]}`);
    }
  }
  return { serialHex: Buffer.from(unsignedIntegerBytes(der, serial)).toString('hex').replace(/^0+(?=.)/, ''), revokedAt: timeOf(der, date), reason };
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), RFC 5280 §4.1.2.5. */
function timeOf(der: Uint8Array, t: Tlv): Date {
  const text = Buffer.from(der.subarray(t.value, t.end)).toString('latin1');
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : t.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : null;
  if (!m) return bad(`time '${text}' is neither UTCTime nor GeneralizedTime in Z form`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year >= 50 ? 1900 : 2000;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
