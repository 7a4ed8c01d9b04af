/**
 * The T=1-over-I²C epilogue: CRC-16/X-25 (poly 0x1021 reflected, init FFFF, final XOR FFFF;
 * catalogue check value 0x906E over "123456789"), over NAD through INF, sent LSB first in NXP's
 * SE05x protocol (UM11225; pnt phNxpEseProto7816_3.c phNxpEseProto7816_ComputeCRC).
 */

/** CRC-16/X-25 of `data`. */
export function crc16X25(data: Uint8Array): number {
  let crc = 0xffff;
  for (const b of data) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return (crc ^ 0xffff) & 0xffff;
}
