/**
 * The ATECC CRC-16 (cryptoauthlib atCRC): polynomial 0x8005, initial value 0, each byte fed
 * least-significant bit first, no final XOR; transmitted low byte first. The one copy in the project.
 */
const TABLE = buildTable();

function buildTable(): Uint16Array {
  // The standard MSB-first table; input bytes are bit-reversed before lookup (see crc16).
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let reg = b << 8;
    for (let i = 0; i < 8; i++) reg = reg & 0x8000 ? ((reg << 1) ^ 0x8005) & 0xffff : (reg << 1) & 0xffff;
    t[b] = reg;
  }
  return t;
}

/** CRC-16 of `data` as the chip computes it, returned as the 16-bit value. */
export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    // The chip feeds each byte LSB first into a non-reflected register: that is the standard
    // MSB-first table CRC over bit-reversed bytes.
    crc = ((crc << 8) & 0xffff) ^ TABLE[(crc >> 8) ^ reverse8(data[i]!)]!;
  }
  return crc;
}

const REV = new Uint8Array(256).map((_, b) => {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 0x80 >> i;
  return r;
});
function reverse8(b: number): number {
  return REV[b]!;
}

/** The two CRC bytes as sent on the wire (low byte first). */
export function crcBytes(data: Uint8Array, start = 0, end = data.length): [number, number] {
  const c = crc16(data, start, end);
  return [c & 0xff, c >> 8];
}

/** True when the last two bytes of `frame` are the CRC of the bytes before them. */
export function checkCrc(frame: Uint8Array): boolean {
  if (frame.length < 3) return false;
  const [lo, hi] = crcBytes(frame, 0, frame.length - 2);
  return frame[frame.length - 2] === lo && frame[frame.length - 1] === hi;
}
