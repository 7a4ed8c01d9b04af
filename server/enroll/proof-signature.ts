/**
 * Verification of a proof's chip signature (ECDSA P-256 / SHA-256, raw r‖s) with a unit's recorded
 * key. Building a KeyObject from the raw X‖Y costs about as much as the verification itself, and a
 * device's key never changes, so parsed keys are kept (bounded): a re-authentication pays only
 * the verification.
 *
 * The verification can also run ahead, before the proof's write transaction, on libuv's thread
 * pool (`ahead`): ~75 µs of the enrolling event loop per proof become ~17 µs (measured, 32 per
 * turn). Its verdict is a pure function's result over (key, signed bytes, signature) and is
 * kept with those exact inputs; inside the transaction `verify` uses it only when the key read
 * there and the bytes built there from the nonce record are the same, and verifies in the loop
 * otherwise. So a verdict cannot stand for another nonce, counter, certificate or key.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { BoundedCache } from './bounded-cache.js';

/** A verification done ahead of the transaction, with the inputs it was done on. */
export interface ProofCheck {
  readonly publicKey: Uint8Array;
  readonly signed: Uint8Array;
  readonly signatureHex: string;
  readonly ok: boolean;
}

/** Verifies proofs with units' keys (128 hex digits of r‖s over `signed`). */
export interface ProofVerifier {
  /** True when the signature verifies; `checked` is used instead of verifying again only when it was made on these same inputs. */
  verify(publicKey: Uint8Array, signed: Uint8Array, signatureHex: string, checked?: ProofCheck): boolean;
  /** The same verification on the thread pool; undefined when it could not be made (the transaction then verifies in the loop). */
  ahead(publicKey: Uint8Array, signed: Uint8Array, signatureHex: string): Promise<ProofCheck | undefined>;
}

/** A verifier remembering up to `maxKeys` parsed keys. */
export function createProofVerifier(maxKeys = 50_000): ProofVerifier {
  const keys = new BoundedCache<string, KeyObject>(maxKeys);
  const keyOf = (publicKey: Uint8Array): KeyObject => {
    const id = Buffer.from(publicKey).toString('hex');
    let key = keys.get(id);
    if (!key) {
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
      key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(publicKey.subarray(0, 32)), y: b64(publicKey.subarray(32)) }, format: 'jwk' });
      keys.set(id, key);
    }
    return key;
  };
  return {
    verify(publicKey, signed, signatureHex, checked) {
      if (checked && checked.signatureHex === signatureHex && sameBytes(checked.publicKey, publicKey) && sameBytes(checked.signed, signed)) return checked.ok;
      return verify('sha256', signed, { key: keyOf(publicKey), dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureHex, 'hex'));
    },
    ahead(publicKey, signed, signatureHex) {
      // Copies: the verdict must hold the bytes it was made on, whatever the caller does with its own.
      const k = new Uint8Array(publicKey);
      const s = new Uint8Array(signed);
      return new Promise((resolve) => {
        try {
          verify('sha256', s, { key: keyOf(k), dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureHex, 'hex'), (err, ok) => {
            resolve(err ? undefined : { publicKey: k, signed: s, signatureHex, ok });
          });
        } catch {
          resolve(undefined);
        }
      });
    },
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
