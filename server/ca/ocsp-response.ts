/**
 * Builds OCSP responses (RFC 6960 §4.2.1) as DER: SingleResponses, the signed BasicOCSPResponse
 * (signed through a Signer, so the delegated responder key stays in the HSM) and the unsigned
 * error answers.
 */
import { createHash } from 'node:crypto';
import type { Signer } from '../hsm/key-store.js';
import type { RevocationReason } from '../../common/protocol/revocation.js';
import { CRL_REASON_CODES } from './crl.js';
import { bitString, ecdsaAlgorithm, ecdsaSigValue, enumerated, generalizedTime, octetString, oid, seq, tlv, tlvOf } from '../../common/der/writer.js';
import { CERT_ID_HASH_ALGORITHMS, type CertIdHash } from './ocsp-request.js';
import { keyIdentifier } from './profiles.js';

/** OCSPResponseStatus values (RFC 6960 §4.2.1) other than successful. */
export type OcspErrorStatus = 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized';

const ERROR_CODES: Record<OcspErrorStatus, number> = { malformedRequest: 1, internalError: 2, tryLater: 3, sigRequired: 5, unauthorized: 6 };

/** An unsigned error response: OCSPResponse { responseStatus } without responseBytes (a fresh Buffer). */
export function ocspErrorResponse(status: OcspErrorStatus): Buffer {
  return seq(enumerated(ERROR_CODES[status]));
}

/** What a certificate's status is. */
export type CertStatus =
  | { status: 'good' }
  | { status: 'revoked'; revokedAt: Date; reason: RevocationReason }
  | { status: 'unknown' };

/** One SingleResponse (RFC 6960 §4.2.1) for the CertID `certIdDer` exactly as requested. */
export function singleResponse(certIdDer: Uint8Array, s: CertStatus, thisUpdate: Date, nextUpdate: Date): Buffer {
  let status: Buffer;
  if (s.status === 'good') status = Buffer.of(0x80, 0x00); // good [0] IMPLICIT NULL
  else if (s.status === 'unknown') status = Buffer.of(0x82, 0x00); // unknown [2] IMPLICIT NULL
  else {
    // revoked [1] IMPLICIT RevokedInfo { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
    const reason = s.reason === 'unspecified' ? [] : [tlv(0xa0, enumerated(CRL_REASON_CODES[s.reason]))];
    status = tlv(0xa1, generalizedTime(s.revokedAt), ...reason);
  }
  return seq(certIdDer, status, generalizedTime(thisUpdate), tlv(0xa0, generalizedTime(nextUpdate)));
}

/** The delegated responder: its key (in the HSM) and certificate (RFC 6960 §4.2.2.2). */
export interface OcspResponderIdentity {
  signer: Signer;
  /** The responder certificate (DER), sent in `certs` so clients can check the delegation. */
  certDer: Uint8Array;
  /** ResponderID byKey: SHA-1 of the responder's public key BIT STRING contents (§4.2.1). */
  keyHash: Buffer;
}

/** The identity of a responder whose public key is `spki`. */
export function responderIdentity(signer: Signer, certDer: Uint8Array, spki: Uint8Array): OcspResponderIdentity {
  return { signer, certDer, keyHash: Buffer.from(keyIdentifier(spki), 'hex') };
}

const OID_BASIC = '1.3.6.1.5.5.7.48.1.1';

/**
 * Signs SingleResponses into a successful OCSPResponse. No responseExtensions: responses are
 * signed ahead of the requests they answer, so none carries a client's nonce (RFC 5019 §4).
 */
export async function signedOcspResponse(id: OcspResponderIdentity, singles: Buffer[], producedAt: Date): Promise<Buffer> {
  const tbs = seq(
    tlv(0xa2, octetString(id.keyHash)), // responderID byKey [2] EXPLICIT KeyHash
    generalizedTime(producedAt),
    tlvOf(0x30, singles),
  );
  const sig = await id.signer.sign(tbs);
  const basic = seq(tbs, ecdsaAlgorithm(id.signer.curve), bitString(ecdsaSigValue(sig)), tlv(0xa0, seq(id.certDer)));
  // OCSPResponse { successful(0), responseBytes [0] EXPLICIT { id-pkix-ocsp-basic, OCTET STRING } }
  return seq(enumerated(0), tlv(0xa0, seq(oid(OID_BASIC), octetString(basic))));
}

/** The issuer's name and key hashes per CertID hash algorithm (RFC 6960 §4.1.1), for matching requests. */
export function issuerHashes(issuerNameDer: Uint8Array, issuerKeyBits: Uint8Array): Map<CertIdHash, { name: Buffer; key: Buffer }> {
  const out = new Map<CertIdHash, { name: Buffer; key: Buffer }>();
  for (const { name } of CERT_ID_HASH_ALGORITHMS) {
    out.set(name, { name: createHash(name).update(issuerNameDer).digest(), key: createHash(name).update(issuerKeyBits).digest() });
  }
  return out;
}
