/**
 * Read/Write addressing (datasheet §"Address encoding"): param1 bits 0-1 select the zone
 * (0 config, 1 OTP, 2 data) and bit 7 a 32-byte access; param2 is (block << 3) | word for config
 * and OTP, and (block << 8) | (slot << 3) | word for the data zone.
 */
import { SLOT_SIZES } from '../state.js';

/** A decoded, range-checked zone address. */
export interface ZoneAddress {
  zone: 0 | 1 | 2;
  slot: number;
  /** Byte offset inside the zone (config, OTP) or the slot (data). */
  offset: number;
  length: 4 | 32;
}

/**
 * Decodes and range-checks an address; null when the chip would answer a parse error. A 32-byte
 * access to the short last block of a slot (block 1 of a 36-byte slot, block 2 of a 72-byte slot)
 * is accepted, before and after data lock: cryptoauthlib's calib_write_pubkey writes a 72-byte key
 * as three 32-byte blocks and calib_read_pubkey reads block 2 as 32 bytes. The caller uses only
 * the bytes that exist.
 */
export function decodeAddress(param1: number, param2: number): ZoneAddress | null {
  const zone = param1 & 0x03;
  const length = param1 & 0x80 ? 32 : 4;
  if (zone === 3) return null;
  const word = param2 & 0x07;
  if (zone === 0 || zone === 1) {
    // Config has blocks 0-3, OTP blocks 0-1; no address bits above them may be set.
    const block = (param2 >> 3) & 0xff;
    if (param2 >> 5 !== 0 && zone === 0) return null;
    if (zone === 1 && param2 >> 4 !== 0) return null;
    const size = zone === 0 ? 128 : 64;
    // A 32-byte access reads or writes the whole block; the word bits are ignored.
    const offset = block * 32 + (length === 32 ? 0 : word * 4);
    if (offset + length > size) return null;
    return { zone, slot: 0, offset, length };
  }
  const slot = (param2 >> 3) & 0x0f;
  const block = (param2 >> 8) & 0xff;
  if (param2 & 0x80) return null;
  const offset = block * 32 + (length === 32 ? 0 : word * 4);
  const size = SLOT_SIZES[slot]!;
  if (offset + length > size && !(length === 32 && offset < size)) return null;
  return { zone: 2, slot, offset, length };
}
