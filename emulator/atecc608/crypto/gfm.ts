/**
 * The Galois-field multiply of AES mode 0x03 (GFM): X · H in GF(2^128) with GCM's bit order and
 * reduction polynomial x^128 + x^7 + x^2 + x + 1 (NIST SP 800-38D §6.3, Algorithm 1), the GHASH
 * step cryptoauthlib's host-side GCM (calib_aes_gcm.c) asks the chip for.
 */

const R = 0xe1n << 120n;

function toBig(b: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(b).toString('hex'));
}

/** X · Y in GF(2^128) (SP 800-38D Algorithm 1); 16-byte inputs and output. */
export function gfMultiply(x: Uint8Array, y: Uint8Array): Uint8Array {
  const X = toBig(x);
  let Z = 0n;
  let V = toBig(y);
  for (let i = 127; i >= 0; i--) {
    if ((X >> BigInt(i)) & 1n) Z ^= V;
    V = V & 1n ? (V >> 1n) ^ R : V >> 1n;
  }
  return Uint8Array.from(Buffer.from(Z.toString(16).padStart(32, '0'), 'hex'));
}
