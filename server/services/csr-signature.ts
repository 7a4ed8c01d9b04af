/**
 * Verifies a PKCS#10 request's self-signature (RFC 2986 §4.2) over the exact bytes received,
 * with node:crypto (OpenSSL), which takes an ECDSA-Sig-Value only in DER. @peculiar/x509's own
 * check decodes the signature leniently: a SEQUENCE whose length disagrees with its INTEGERs still
 * verified there (issue 11 fuzz finding), so one request had many accepted encodings.
 */
import { createPublicKey, verify } from 'node:crypto';
import { ValidationError } from '../../common/errors.js';
import { childrenOf, expectTlv } from '../../common/der/reader.js';

/** ecdsa-with-SHA256/384/512 (RFC 5758 §3.2), as OID content bytes → the hash node:crypto names. */
const ECDSA_WITH: Record<string, string> = { '2a8648ce3d040302': 'sha256', '2a8648ce3d040303': 'sha384', '2a8648ce3d040304': 'sha512' };

/**
 * True when `der` (a CertificationRequest) is signed by the key in `spki` (DER) over its
 * CertificationRequestInfo; INVALID_CSR when the outer structure or the algorithm is not one
 * this accepts, false for a signature that does not verify or is not DER.
 */
export function csrSignatureValid(der: Uint8Array, spki: Uint8Array): boolean {
  let parts;
  try {
    const top = expectTlv(der, 0, der.length, 0x30, 'CertificationRequest');
    if (top.end !== der.length) throw new ValidationError('INVALID_CSR', `csr: ${der.length - top.end} bytes after the request`);
    const [info, alg, sig, extra] = childrenOf(der, top);
    if (!info || info.tag !== 0x30 || !alg || alg.tag !== 0x30 || !sig || sig.tag !== 0x03 || extra) throw new ValidationError('INVALID_CSR', 'csr: expected info, algorithm and signature');
    const [oid, params] = childrenOf(der, alg);
    const hash = oid?.tag === 0x06 ? ECDSA_WITH[Buffer.from(der.subarray(oid.value, oid.end)).toString('hex')] : undefined;
    // RFC 5758 §3.2: the ECDSA AlgorithmIdentifiers carry no parameters.
    if (!hash || params) throw new ValidationError('INVALID_CSR', 'csr: signature algorithm is not ECDSA with SHA-256, SHA-384 or SHA-512');
    if (sig.end === sig.value || der[sig.value] !== 0) throw new ValidationError('INVALID_CSR', 'csr: signature BIT STRING has unused bits');
    parts = { hash, info: der.subarray(info.start, info.end), signature: der.subarray(sig.value + 1, sig.end) };
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError('INVALID_CSR', 'csr: not a DER CertificationRequest', { cause: err });
  }
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return verify(parts.hash, parts.info, { key, dsaEncoding: 'der' }, parts.signature);
}
