/**
 * AES-128 on one 16-byte block in ECB, as the AES command and KDF's AES algorithm use it (the 608
 * does only single blocks; cryptoauthlib builds CBC, CTR, CCM, CMAC and GCM on the host around it).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** AES-128-ECB encryption of one block. */
export function aesEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block));
}

/** AES-128-ECB decryption of one block. */
export function aesDecryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const d = createDecipheriv('aes-128-ecb', key, null);
  d.setAutoPadding(false);
  return new Uint8Array(d.update(block));
}
