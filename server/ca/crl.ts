/**
 * The issuing CA's CRL (RFC 5280 §5, v2), built as DER directly and signed through a Signer, so
 * the CA key stays in the HSM and 100,000 entries take tens of milliseconds, not seconds.
 */
import { KeylineError } from '../../common/errors.js';
import * as x509 from '../../common/x509.js';
import type { Signer } from '../hsm/key-store.js';
import type { RevocationReason } from '../../common/protocol/revocation.js';
import { bitString, derLength, ecdsaAlgorithm, ecdsaSigValue, enumerated, extension, integerFromNumber, seq, tlv, x509Time } from '../../common/der/writer.js';
import { keyIdentifier } from './profiles.js';
import { toCert } from './chain.js';

/** CRLReason codes (RFC 5280 §5.3.1); 7 is unused and removeFromCRL (8) is never issued here. */
export const CRL_REASON_CODES: Record<RevocationReason, number> = {
  unspecified: 0, keyCompromise: 1, cACompromise: 2, affiliationChanged: 3, superseded: 4,
  cessationOfOperation: 5, certificateHold: 6, privilegeWithdrawn: 9, aACompromise: 10,
};

/** One revokedCertificates entry. */
export interface CrlEntry {
  /** Lowercase hex of the serial's value. */
  serialHex: string;
  revokedAt: Date;
  reason: RevocationReason;
}

/** What a CRL needs from the issuing CA: its subject Name DER, key identifier and signing key. */
export interface CrlIssuer {
  signer: Signer;
  /** The issuer's subject Name, DER, copied byte for byte into the CRL (RFC 5280 §5.1.2.3). */
  nameDer: Uint8Array;
  /** The issuer's subject key identifier (hex), carried as the CRL's AKI (RFC 5280 §5.2.1). */
  keyIdHex: string;
}

/** The CrlIssuer of a CA certificate (DER) whose key `signer` holds. */
export function crlIssuerOf(caDer: Uint8Array, signer: Signer): CrlIssuer {
  const cert = toCert(caDer);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? keyIdentifier(new Uint8Array(cert.publicKey.rawData));
  return { signer, nameDer: new Uint8Array(cert.subjectName.toArrayBuffer()), keyIdHex: ski };
}

/** Inputs of one CRL. */
export interface CrlRequest {
  /** CRL Number (RFC 5280 §5.2.3): strictly increasing for this issuer. */
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: Iterable<CrlEntry>;
}

const OID_AKI = '2.5.29.35';
const OID_CRL_NUMBER = '2.5.29.20';
const OID_REASON_CODE = '2.5.29.21';

// The reasonCode extension of each reason, encoded once (a CRL repeats a handful of them).
const REASON_EXT = new Map<RevocationReason, Buffer>(
  Object.entries(CRL_REASON_CODES).map(([name, code]) => [name as RevocationReason, seq(extension(OID_REASON_CODE, enumerated(code)))]),
);

/** The DER TBSCertList of `req` (exported for benchmarks and tests). */
export function buildTbsCertList(issuer: CrlIssuer, req: CrlRequest): Buffer {
  if (!Number.isSafeInteger(req.number) || req.number < 0) throw new KeylineError('VALIDATION_FAILED', `crl number: must be a non-negative integer, got ${req.number}`);
  if (req.nextUpdate <= req.thisUpdate) throw new KeylineError('VALIDATION_FAILED', `crl nextUpdate ${req.nextUpdate.toISOString()} is not after thisUpdate`);
  const revoked = encodeEntries(req.entries);
  const crlExtensions = tlv(0xa0, seq(
    // AKI: SEQUENCE { [0] IMPLICIT KeyIdentifier } (RFC 5280 §4.2.1.1), required in CRLs by §5.2.1.
    extension(OID_AKI, seq(tlv(0x80, Buffer.from(issuer.keyIdHex, 'hex')))),
    extension(OID_CRL_NUMBER, integerFromNumber(req.number)),
  ));
  return seq(
    Buffer.of(0x02, 0x01, 0x01), // version v2 (§5.1.2.1: required when extensions are present)
    ecdsaAlgorithm(issuer.signer.curve),
    issuer.nameDer,
    x509Time(req.thisUpdate),
    x509Time(req.nextUpdate),
    // §5.1.2.6: when there are no revoked certificates the list is absent, not empty.
    ...(revoked ? [revoked] : []),
    crlExtensions,
  );
}

/**
 * The revokedCertificates SEQUENCE written into one buffer, or null when empty. Per-entry TLV
 * helpers would allocate several Buffers per entry; here each entry costs one hex decode, and
 * revocation times (often shared by a whole work order) are encoded once.
 */
function encodeEntries(list: Iterable<CrlEntry>): Buffer | null {
  const hexes: string[] = [];
  const dates: Date[] = [];
  const exts: (Buffer | undefined)[] = [];
  let total = 0;
  for (const e of list) {
    if (!SERIAL_HEX.test(e.serialHex)) throw new KeylineError('VALIDATION_FAILED', `crl entry serial: '${e.serialHex}' is not lowercase hex without leading zeros`);
    const hex = e.serialHex.length % 2 ? `0${e.serialHex}` : e.serialHex;
    // RFC 5280 §5.3.1: the reasonCode "unspecified" SHOULD be omitted rather than sent.
    const ext = e.reason === 'unspecified' ? undefined : REASON_EXT.get(e.reason);
    if (ext === undefined && e.reason !== 'unspecified') throw new KeylineError('VALIDATION_FAILED', `crl entry ${e.serialHex}: unknown reason '${e.reason}'`);
    const body = integerSize(hex) + timeSize(e.revokedAt) + (ext?.length ?? 0);
    total += 1 + lengthSize(body) + body;
    hexes.push(hex);
    dates.push(e.revokedAt);
    exts.push(ext);
  }
  if (hexes.length === 0) return null;
  const head = derLength(total);
  const out = Buffer.allocUnsafe(1 + head.length + total);
  out[0] = 0x30;
  let at = 1 + head.copy(out, 1);
  for (let i = 0; i < hexes.length; i++) {
    const hex = hexes[i]!, d = dates[i]!, x = exts[i];
    const intSize = integerSize(hex);
    const body = intSize + timeSize(d) + (x?.length ?? 0);
    out[at++] = 0x30;
    at = writeLength(out, at, body);
    // INTEGER: a leading 00 keeps a value with its top bit set positive (X.690 §8.3.2).
    out[at++] = 0x02;
    out[at++] = intSize - 2;
    if (intSize - 2 > hex.length / 2) out[at++] = 0;
    // Hex decoded by hand: Buffer#write(hex) crosses into C++ once per entry, which dominates here.
    for (let j = 0; j < hex.length; j += 2) out[at++] = (nibble(hex.charCodeAt(j)) << 4) | nibble(hex.charCodeAt(j + 1));
    at = writeTime(out, at, d);
    if (x) at += x.copy(out, at);
  }
  return out;
}

function twoDigits(out: Buffer, at: number, n: number): number {
  out[at] = 0x30 + ((n / 10) | 0);
  out[at + 1] = 0x30 + (n % 10);
  return at + 2;
}

function nibble(c: number): number {
  return c <= 0x39 ? c - 0x30 : c - 0x57; // '0'-'9', 'a'-'f' (checked by SERIAL_HEX)
}

/** Encoded size of an RFC 5280 Time: UTCTime (13 characters) through 2049, GeneralizedTime (15) after. */
function timeSize(d: Date): number {
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050 ? 15 : 17;
}

/** Writes the Time of x509Time (common/der/writer.ts) digit by digit: no string per entry. */
function writeTime(out: Buffer, at: number, d: Date): number {
  const y = d.getUTCFullYear();
  const utc = y >= 1950 && y < 2050;
  out[at++] = utc ? 0x17 : 0x18;
  out[at++] = utc ? 13 : 15;
  if (!utc) at = twoDigits(out, at, (y / 100) | 0);
  at = twoDigits(out, at, y % 100);
  at = twoDigits(out, at, d.getUTCMonth() + 1);
  at = twoDigits(out, at, d.getUTCDate());
  at = twoDigits(out, at, d.getUTCHours());
  at = twoDigits(out, at, d.getUTCMinutes());
  at = twoDigits(out, at, d.getUTCSeconds());
  out[at++] = 0x5a; // 'Z'
  return at;
}

const SERIAL_HEX = /^(?:0|[1-9a-f][0-9a-f]{0,39})$/;

/** Encoded size of a positive INTEGER of even-length hex (at most 21 content bytes). */
function integerSize(hex: string): number {
  return 2 + hex.length / 2 + (hex.charCodeAt(0) >= 0x38 /* '8' */ ? 1 : 0);
}

function lengthSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

function writeLength(out: Buffer, at: number, n: number): number {
  if (n < 0x80) out[at++] = n;
  else if (n < 0x100) { out[at++] = 0x81; out[at++] = n; }
  else { out[at++] = 0x82; out[at++] = n >> 8; out[at++] = n & 0xff; }
  return at;
}

/** Builds and signs a CRL; returns its DER CertificateList. */
export async function issueCrl(issuer: CrlIssuer, req: CrlRequest): Promise<Buffer> {
  const tbs = buildTbsCertList(issuer, req);
  const sig = await issuer.signer.sign(tbs);
  return seq(tbs, ecdsaAlgorithm(issuer.signer.curve), bitString(ecdsaSigValue(sig)));
}
