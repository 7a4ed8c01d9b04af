/**
 * Parses an OCSPRequest (RFC 6960 §4.1.1) strictly, because what it yields becomes a cache key
 * and is echoed in a signed response: one CertID (RFC 5019 §2.1.1), a known hash algorithm whose
 * parameters are absent or exactly NULL, hashes of that algorithm's length, a minimal positive
 * serial of at most 20 octets (RFC 5280 §4.1.2.2), all in DER. The CertID is then re-encoded and
 * must equal the bytes received, so each accepted CertID has exactly one encoding and the echoed
 * CertID is determined by the cache key. Requester signatures (optionalSignature) are accepted
 * and ignored (§4.1.2 leaves them optional); a nonce is noted, never echoed (see ocsp-responder.ts).
 */
import { KeylineError } from '../../common/errors.js';
import { childrenOf, expectTlv, integerHex, readTlv, type Tlv } from '../../common/der/reader.js';
import { NULL, octetString, oid, seq } from '../../common/der/writer.js';

/** id-pkix-ocsp-nonce (RFC 6960 §4.4.1). */
export const OID_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';

/** CertID hash algorithms accepted: name, OID and digest length. */
export const CERT_ID_HASH_ALGORITHMS = [
  { name: 'sha1', oid: '1.3.14.3.2.26', length: 20 },
  { name: 'sha256', oid: '2.16.840.1.101.3.4.2.1', length: 32 },
  { name: 'sha384', oid: '2.16.840.1.101.3.4.2.2', length: 48 },
  { name: 'sha512', oid: '2.16.840.1.101.3.4.2.3', length: 64 },
] as const;

/** The name of an accepted CertID hash algorithm. */
export type CertIdHash = (typeof CERT_ID_HASH_ALGORITHMS)[number]['name'];

/** The two encodings of a hash AlgorithmIdentifier accepted: parameters absent, or NULL (RFC 5754 §2 allows both). */
export type HashParams = 'absent' | 'null';

/** The one certificate asked about. */
export interface OcspCertId {
  /** The CertID's DER: the canonical encoding, byte-equal to the request's. */
  der: Buffer;
  hash: CertIdHash;
  params: HashParams;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** Lowercase hex of the serial's value, no leading zeros. */
  serialHex: string;
}

/** A parsed request. */
export interface OcspRequest {
  certId: OcspCertId;
  /** The request carried a nonce extension (RFC 8954); it is not echoed. */
  hasNonce: boolean;
}

/** Largest serial INTEGER content accepted: RFC 5280 §4.1.2.2 (Keyline issues 16 octets). */
export const MAX_SERIAL_OCTETS = 20;

// Hash AlgorithmIdentifier OID TLVs, compared byte for byte (an OID has one DER encoding).
const OID_TLVS = CERT_ID_HASH_ALGORITHMS.map((a) => ({ ...a, tlv: oid(a.oid) }));
const NONCE_TLV = oid(OID_OCSP_NONCE);

function malformed(why: string): never {
  throw new KeylineError('MALFORMED_DER', why);
}

/** Parses DER; throws MALFORMED_DER (answered as malformedRequest) on anything outside the profile. */
export function parseOcspRequest(input: Uint8Array): OcspRequest {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const top = expectTlv(buf, 0, buf.length, 0x30, 'OCSPRequest');
  if (top.end !== buf.length) malformed(`OCSPRequest: ${buf.length - top.end} trailing bytes`);
  const [tbs, signature, extra] = childrenOf(buf, top);
  if (!tbs || tbs.tag !== 0x30) malformed('OCSPRequest: tbsRequest missing');
  // optionalSignature [0] EXPLICIT Signature: accepted, not checked (the answer is public anyway).
  if ((signature && signature.tag !== 0xa0) || extra) malformed('OCSPRequest: unexpected field after tbsRequest');

  // TBSRequest ::= SEQUENCE { version [0] DEFAULT v1, requestorName [1] OPTIONAL, requestList, requestExtensions [2] OPTIONAL }, in this order.
  const fields = childrenOf(buf, tbs);
  let i = 0;
  if (fields[i]?.tag === 0xa0) {
    const v = expectTlv(buf, fields[i]!.value, fields[i]!.end, 0x02, 'version');
    if (v.end !== fields[i]!.end || v.end - v.value !== 1 || buf[v.value] !== 0) malformed('OCSPRequest version: only v1 is defined');
    i++;
  }
  if (fields[i]?.tag === 0xa1) i++;
  const list = fields[i++];
  if (!list || list.tag !== 0x30) malformed('TBSRequest: requestList missing');
  let hasNonce = false;
  if (fields[i]?.tag === 0xa2) hasNonce = hasNonceExtension(buf, fields[i++]!);
  if (i !== fields.length) malformed(`TBSRequest: unexpected field tag 0x${fields[i]!.tag.toString(16)}`);

  // RFC 5019 §2.1.1: exactly one Request. A response answers with one signature over every
  // CertID, so several cannot come from pre-signed single answers (REVOCATION.md).
  const requests = childrenOf(buf, list);
  if (requests.length !== 1) malformed(`requestList: ${requests.length} entries (exactly 1 accepted, RFC 5019 §2.1.1)`);
  const request = requests[0]!;
  if (request.tag !== 0x30) malformed('Request: expected a SEQUENCE');
  // Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT OPTIONAL }
  const [certId, singleExts, more] = childrenOf(buf, request);
  if (!certId || certId.tag !== 0x30 || (singleExts && singleExts.tag !== 0xa0) || more) malformed('Request: expected a CertID and optional extensions');
  return { certId: parseCertId(buf, certId), hasNonce };
}

function parseCertId(buf: Buffer, t: Tlv): OcspCertId {
  const [alg, nameHash, keyHash, serial, extra] = childrenOf(buf, t);
  if (!alg || !nameHash || !keyHash || !serial || extra) malformed('CertID: expected four fields');
  if (alg.tag !== 0x30 || nameHash.tag !== 0x04 || keyHash.tag !== 0x04 || serial.tag !== 0x02) malformed('CertID: wrong field types');

  const [algOid, params, algExtra] = childrenOf(buf, alg);
  if (!algOid || algExtra) malformed('CertID.hashAlgorithm: expected an OID and optional parameters');
  const oidBytes = buf.subarray(algOid.start, algOid.end);
  const known = OID_TLVS.find((a) => a.tlv.equals(oidBytes));
  if (!known) malformed(`CertID.hashAlgorithm: ${oidBytes.toString('hex').slice(0, 64)} is not SHA-1, SHA-256, SHA-384 or SHA-512`);
  // The attack of issue 11: arbitrary parameters made every request a new cache key.
  if (params && !NULL.equals(buf.subarray(params.start, params.end))) malformed('CertID.hashAlgorithm: parameters must be absent or NULL');

  const issuerNameHash = buf.subarray(nameHash.value, nameHash.end);
  const issuerKeyHash = buf.subarray(keyHash.value, keyHash.end);
  if (issuerNameHash.length !== known.length || issuerKeyHash.length !== known.length) {
    malformed(`CertID: issuer hashes must be ${known.length} octets for ${known.name}`);
  }
  if (serial.end - serial.value > MAX_SERIAL_OCTETS) malformed(`CertID.serialNumber: ${serial.end - serial.value} octets (at most ${MAX_SERIAL_OCTETS})`);
  const serialHex = integerHex(buf, serial);

  const der = seq(seq(known.tlv, ...(params ? [NULL] : [])), octetString(issuerNameHash), octetString(issuerKeyHash), buf.subarray(serial.start, serial.end));
  // Belt and braces: whatever the reader let through, only the canonical encoding is answered.
  if (!der.equals(buf.subarray(t.start, t.end))) malformed('CertID: not in DER');
  return { der, hash: known.name, params: params ? 'null' : 'absent', issuerNameHash: Buffer.from(issuerNameHash), issuerKeyHash: Buffer.from(issuerKeyHash), serialHex };
}

/** Whether requestExtensions [2] holds a nonce; the Extensions must be well formed either way. */
function hasNonceExtension(buf: Buffer, f: Tlv): boolean {
  const exts = expectTlv(buf, f.value, f.end, 0x30, 'requestExtensions');
  if (exts.end !== f.end) malformed('requestExtensions: trailing bytes');
  let found = false;
  for (const e of childrenOf(buf, exts)) {
    if (e.tag !== 0x30) malformed('Extension: expected a SEQUENCE');
    const id = readTlv(buf, e.value, e.end);
    if (id.tag !== 0x06) malformed('Extension.extnID: expected an OBJECT IDENTIFIER');
    if (buf.subarray(id.start, id.end).equals(NONCE_TLV)) found = true;
  }
  return found;
}
