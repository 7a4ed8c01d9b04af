/**
 * The monotonic counters live in config bytes 52-59 (counter 0) and 60-67 (counter 1) in the
 * chip's 8-byte encoding (cryptoauthlib calib_write_config_counter): two "linear" 16-bit fields
 * that lose one bit per count within a 32-count window (offset by 16 for the second), then two
 * 16-bit window numbers, all big-endian. Zero is FF FF FF FF 00 00 00 00.
 */

/** Encodes a counter value (0..2,097,151) into its 8 config bytes. */
export function encodeCounter(value: number): Uint8Array {
  const linA = value % 32 >= 16 ? 0 : 0xffff >> value % 32;
  const shiftB = value >= 16 ? (value - 16) % 32 : 0;
  const linB = shiftB >= 16 ? 0 : 0xffff >> shiftB;
  const binA = Math.floor(value / 32);
  const binB = value >= 16 ? Math.floor((value - 16) / 32) : 0;
  return Uint8Array.of(linA >> 8, linA & 0xff, linB >> 8, linB & 0xff, binA >> 8, binA & 0xff, binB >> 8, binB & 0xff);
}

function popcount16(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

/** Decodes the 8 config bytes of a counter (exact for every value encodeCounter produces). */
export function decodeCounter(b: Uint8Array): number {
  const linA = (b[0]! << 8) | b[1]!;
  const linB = (b[2]! << 8) | b[3]!;
  const binA = (b[4]! << 8) | b[5]!;
  // Within the window: linA keeps 16 - r bits for r < 16, then linB keeps 16 - (r - 16) bits.
  const r = linA !== 0 ? 16 - popcount16(linA) : 32 - popcount16(linB);
  return binA * 32 + Math.min(r, 31);
}
