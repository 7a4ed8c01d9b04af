/**
 * Verification of a proof's chip signature (ECDSA P-256 / SHA-256, raw r‖s) with a unit's recorded
 * key. Building a KeyObject from the raw X‖Y costs about as much as the verification itself, and a
 * device's key never changes, so parsed keys are kept (bounded): a re-authentication pays only
 * the verification.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { BoundedCache } from './bounded-cache.js';

/** True when `signatureHex` (128 hex digits, r‖s) is the key's signature over `signed`. */
export type ProofVerifier = (publicKey: Uint8Array, signed: Uint8Array, signatureHex: string) => boolean;

/** A verifier remembering up to `maxKeys` parsed keys. */
export function createProofVerifier(maxKeys = 50_000): ProofVerifier {
  const keys = new BoundedCache<string, KeyObject>(maxKeys);
  return (publicKey, signed, signatureHex) => {
    const id = Buffer.from(publicKey).toString('hex');
    let key = keys.get(id);
    if (!key) {
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
      key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(publicKey.subarray(0, 32)), y: b64(publicKey.subarray(32)) }, format: 'jwk' });
      keys.set(id, key);
    }
    return verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureHex, 'hex'));
  };
}
