/**
 * The 608's memory geometry and the Read/Write address encoding (datasheet §9.1.4 / cryptoauthlib
 * calib_get_addr): config and OTP words are `(block << 3) | word`; data words add the slot in
 * bits 3-6 and move the block to bits 8-11.
 */
import { SecureElementError } from '../common/errors.js';

/** Zone numbers as Read/Write/Lock encode them in param1 bits 0-1. */
export const Zone = { CONFIG: 0, OTP: 1, DATA: 2 } as const;

/** A zone number. */
export type ZoneId = (typeof Zone)[keyof typeof Zone];

/** Size of the config zone in bytes. */
export const CONFIG_SIZE = 128;
/** Size of the OTP zone in bytes. */
export const OTP_SIZE = 64;

/** Byte size of data slot `slot`: 0-7 hold 36 bytes, 8 holds 416, 9-15 hold 72. */
export function slotSize(slot: number): number {
  checkSlot(slot);
  return slot < 8 ? 36 : slot === 8 ? 416 : 72;
}

/** Throws ATCA_BAD_PARAM unless `slot` is 0..15. */
export function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot > 15) throw new SecureElementError('ATCA_BAD_PARAM', `slot must be 0..15, got ${slot}`);
}

/** Byte size of a zone (for data, of one slot). */
export function zoneSize(zone: ZoneId, slot = 0): number {
  return zone === Zone.CONFIG ? CONFIG_SIZE : zone === Zone.OTP ? OTP_SIZE : slotSize(slot);
}

/**
 * Param2 for a Read or Write of `len` (4 or 32) bytes at `block`/`offset` (offset in 4-byte
 * words); checks the access lies inside the zone or slot.
 */
export function zoneAddress(zone: ZoneId, slot: number, block: number, offset: number, len: 4 | 32): number {
  if (!Number.isInteger(block) || block < 0 || !Number.isInteger(offset) || offset < 0 || offset > 7) {
    throw new SecureElementError('ATCA_BAD_PARAM', `block ${block} / word offset ${offset} out of range`);
  }
  if (len === 32 && offset !== 0) throw new SecureElementError('ATCA_BAD_PARAM', `a 32-byte access must start at word 0, got offset ${offset}`);
  const start = block * 32 + offset * 4;
  const size = zoneSize(zone, slot);
  if (start + len > size) {
    throw new SecureElementError('ATCA_BAD_PARAM', `${len}-byte access at byte ${start} overruns the ${size}-byte ${zoneName(zone)}${zone === Zone.DATA ? ` slot ${slot}` : ''}`);
  }
  if (zone === Zone.DATA) return (block << 8) | (slot << 3) | offset;
  return (block << 3) | offset;
}

/** One Read/Write access of a multi-block transfer. */
export interface Chunk {
  block: number;
  offset: number;
  len: 4 | 32;
  /** Byte position of this chunk within the transfer. */
  at: number;
}

/**
 * Splits bytes `[start, start + length)` of a zone into the accesses cryptoauthlib's
 * read/write_bytes_zone makes: whole 32-byte blocks where they fit, 4-byte words elsewhere.
 * `start` and `length` must be multiples of 4.
 */
export function chunks(start: number, length: number): Chunk[] {
  if (start % 4 !== 0 || length % 4 !== 0) throw new SecureElementError('ATCA_BAD_PARAM', `offset ${start} and length ${length} must be multiples of 4`);
  const out: Chunk[] = [];
  let pos = start;
  const end = start + length;
  while (pos < end) {
    const block = Math.floor(pos / 32);
    const offset = (pos % 32) / 4;
    if (offset === 0 && pos + 32 <= end) {
      out.push({ block, offset: 0, len: 32, at: pos - start });
      pos += 32;
    } else {
      out.push({ block, offset, len: 4, at: pos - start });
      pos += 4;
    }
  }
  return out;
}

function zoneName(zone: ZoneId): string {
  return zone === Zone.CONFIG ? 'config zone' : zone === Zone.OTP ? 'OTP zone' : 'data zone';
}
