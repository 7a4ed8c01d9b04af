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
 *
 * Key import, ahead: webcrypto's raw import (the point checked on the curve, as for any P-256 key:
 * cofactor 1, so that is the whole check) costs ~75 µs where a JWK import costs ~85 µs plus ~25 µs
 * more at its first verification (OpenSSL 3 builds the P-256 group again for the provider's copy
 * of the key, and the JWK path also multiplies the point by the group order); measured on this
 * machine, Node 20 / OpenSSL 3.0. The verification in the transaction keeps the synchronous JWK
 * import, for the rare proof verified there with a key not kept yet.
 */
import { createPublicKey, KeyObject, verify, webcrypto } from 'node:crypto';
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
  const idOf = (publicKey: Uint8Array) => Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('hex');
  const keyOf = (publicKey: Uint8Array): KeyObject => {
    const id = idOf(publicKey);
    let key = keys.get(id);
    if (!key) {
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
      key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(publicKey.subarray(0, 32)), y: b64(publicKey.subarray(32)) }, format: 'jwk' });
      keys.set(id, key);
    }
    return key;
  };
  const keyAhead = async (publicKey: Uint8Array): Promise<KeyObject> => {
    const id = idOf(publicKey);
    let key = keys.get(id);
    if (!key) {
      // SEC 1 §2.3.3 uncompressed point: 04 ‖ X ‖ Y.
      const point = Buffer.allocUnsafe(65);
      point[0] = 0x04;
      point.set(publicKey, 1);
      key = KeyObject.from(await webcrypto.subtle.importKey('raw', point, P256, false, ['verify']));
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
      if (k.length !== 64) return Promise.resolve(undefined);
      return keyAhead(k).then((key) => new Promise<ProofCheck | undefined>((resolve) => {
        verify('sha256', s, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureHex, 'hex'), (err, ok) => {
          resolve(err ? undefined : { publicKey: k, signed: s, signatureHex, ok });
        });
      })).catch(() => undefined);
    },
  };
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256' };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
