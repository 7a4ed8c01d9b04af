/**
 * Parses an OCSPRequest (RFC 6960 §4.1.1) just far enough to answer it: the CertIDs, kept as
 * their exact DER so the response can echo them (§4.2.1 requires the same CertID), and the nonce
 * extension (§4.4.1). Requester signatures (optionalSignature) are accepted and ignored: §4.1.2
 * leaves them optional and this responder answers anyone about its own certificates.
 */
import { KeylineError } from '../../common/errors.js';
import { childrenOf, expectTlv, integerHex, oidText, readTlv, type Tlv } from './der-reader.js';

/** id-pkix-ocsp-nonce (RFC 6960 §4.4.1). */
export const OID_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';

/** One certificate asked about. */
export interface OcspCertId {
  /** The CertID's DER, echoed unchanged in the SingleResponse. */
  der: Buffer;
  /** OID of the hash over the issuer's name and key. */
  hashAlgorithm: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** Lowercase hex of the serial's value, no leading zeros. */
  serialHex: string;
}

/** A parsed request. */
export interface OcspRequest {
  certIds: OcspCertId[];
  /** The whole nonce Extension (DER), echoed in the response's extensions, or undefined. */
  nonceExtension?: Buffer;
}

/** Most CertIDs answered in one request; RFC 5019 §2.1.1 clients send exactly one. */
export const MAX_CERT_IDS = 16;

/** Parses DER; throws MALFORMED_DER (answered as malformedRequest) on anything unexpected. */
export function parseOcspRequest(input: Uint8Array): OcspRequest {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const top = expectTlv(buf, 0, buf.length, 0x30, 'OCSPRequest');
  if (top.end !== buf.length) throw new KeylineError('MALFORMED_DER', `OCSPRequest: ${buf.length - top.end} trailing bytes`);
  const tbs = expectTlv(buf, top.value, top.end, 0x30, 'TBSRequest');
  let list: Tlv | undefined;
  let nonceExtension: Buffer | undefined;
  for (const f of childrenOf(buf, tbs)) {
    if (f.tag === 0xa0) {
      // [0] EXPLICIT Version: only v1 (0) exists.
      const v = expectTlv(buf, f.value, f.end, 0x02, 'version');
      if (v.end - v.value !== 1 || buf[v.value] !== 0) throw new KeylineError('MALFORMED_DER', 'OCSPRequest version: only v1 is defined');
    } else if (f.tag === 0x30 && !list) {
      list = f;
    } else if (f.tag === 0xa2) {
      nonceExtension = findNonce(buf, expectTlv(buf, f.value, f.end, 0x30, 'requestExtensions'));
    } else if (f.tag !== 0xa1) {
      throw new KeylineError('MALFORMED_DER', `TBSRequest: unexpected field tag 0x${f.tag.toString(16)}`);
    }
  }
  if (!list) throw new KeylineError('MALFORMED_DER', 'TBSRequest: requestList missing');
  const requests = childrenOf(buf, list);
  if (requests.length === 0 || requests.length > MAX_CERT_IDS) {
    throw new KeylineError('MALFORMED_DER', `requestList: ${requests.length} entries (1..${MAX_CERT_IDS} accepted)`);
  }
  const certIds = requests.map((r) => {
    if (r.tag !== 0x30) throw new KeylineError('MALFORMED_DER', 'Request: expected a SEQUENCE');
    return parseCertId(buf, expectTlv(buf, r.value, r.end, 0x30, 'CertID'));
  });
  return nonceExtension ? { certIds, nonceExtension } : { certIds };
}

function parseCertId(buf: Buffer, t: Tlv): OcspCertId {
  const [alg, nameHash, keyHash, serial, extra] = childrenOf(buf, t);
  if (!alg || !nameHash || !keyHash || !serial || extra) throw new KeylineError('MALFORMED_DER', 'CertID: expected four fields');
  if (alg.tag !== 0x30 || nameHash.tag !== 0x04 || keyHash.tag !== 0x04) throw new KeylineError('MALFORMED_DER', 'CertID: wrong field types');
  return {
    der: Buffer.from(buf.subarray(t.start, t.end)),
    hashAlgorithm: oidText(buf, readTlv(buf, alg.value, alg.end)),
    issuerNameHash: buf.subarray(nameHash.value, nameHash.end),
    issuerKeyHash: buf.subarray(keyHash.value, keyHash.end),
    serialHex: integerHex(buf, serial),
  };
}

function findNonce(buf: Buffer, exts: Tlv): Buffer | undefined {
  for (const e of childrenOf(buf, exts)) {
    const id = expectTlv(buf, e.value, e.end, 0x06, 'Extension.extnID');
    if (oidText(buf, id) === OID_OCSP_NONCE) {
      // RFC 8954 §2.1: a nonce is 1..32 octets; longer ones are a known amplification vector.
      if (e.end - e.start > 64) throw new KeylineError('MALFORMED_DER', `nonce extension: ${e.end - e.start} bytes (at most 64)`);
      return Buffer.from(buf.subarray(e.start, e.end));
    }
  }
  return undefined;
}
