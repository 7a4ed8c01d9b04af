/**
 * The IO protection key (ChipOptions, config bytes 90-91: bit 1 IOProtKeyEnable, bits 12-15 the
 * key's slot) and the output encryption ECDH and KDF apply with it: each 32-byte block of output is
 * XORed with SHA-256(IOkey ‖ 16 bytes of a fresh 32-byte OutNonce), block i using nonce bytes
 * 16i..16i+15, and the nonce follows the data (the inverse of cryptoauthlib's atcah_io_decrypt).
 */
import { createHash } from 'node:crypto';
import type { ChipState } from '../state.js';

const CHIP_OPTIONS = 90;

/** ChipOptions as a 16-bit value. */
export function chipOptions(state: ChipState): number {
  return state.config[CHIP_OPTIONS]! | (state.config[CHIP_OPTIONS + 1]! << 8);
}

/** The 32-byte IO protection key, or undefined when IOProtKeyEnable is off. */
export function ioProtectionKey(state: ChipState): Uint8Array | undefined {
  const opts = chipOptions(state);
  if ((opts & 0x0002) === 0) return undefined;
  return state.slots[(opts >> 12) & 0x0f]!.subarray(0, 32);
}

/** `data` (32 or 64 bytes) encrypted under `ioKey` with `nonce` (32 bytes), then the nonce. */
export function ioEncrypt(ioKey: Uint8Array, data: Uint8Array, nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 32);
  for (let block = 0; block * 32 < data.length; block++) {
    const k = createHash('sha256').update(ioKey).update(nonce.subarray(block * 16, block * 16 + 16)).digest();
    for (let i = 0; i < 32; i++) out[block * 32 + i] = data[block * 32 + i]! ^ k[i]!;
  }
  out.set(nonce, data.length);
  return out;
}
