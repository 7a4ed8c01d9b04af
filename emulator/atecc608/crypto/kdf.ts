/**
 * The three KDF algorithms of the 608 (KDF command 0x56), each checked against cryptoauthlib's
 * test vectors (test/api_atcab/atca_tests_kdf.c): PRF is the TLS 1.2 PRF P_SHA256(key, message)
 * (RFC 5246 §5; the label and seed are the host's message), AES encrypts the 16-byte message with
 * a 16-byte key (the result padded to 32 bytes with zeros), HKDF is one HMAC-SHA256 of the message
 * under the key (RFC 5869's Extract/Expand step; the host builds info ‖ counter).
 */
import { createHmac } from 'node:crypto';
import { aesEncryptBlock } from './aes.js';

function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest());
}

/** TLS 1.2 P_SHA256(key, seed), `length` bytes (32 or 64). */
export function kdfPrf(key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a: Uint8Array = seed;
  for (let at = 0; at < length; at += 32) {
    a = hmac(key, a);
    const block = createHmac('sha256', key).update(a).update(seed).digest();
    out.set(block.subarray(0, Math.min(32, length - at)), at);
  }
  return out;
}

/** AES-128 of the 16-byte message, then 16 zero bytes (the 32-byte KDF result). */
export function kdfAes(key16: Uint8Array, message16: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  out.set(aesEncryptBlock(key16, message16));
  return out;
}

/** One HMAC-SHA256 of the message under the key. */
export function kdfHkdf(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(key, message);
}
