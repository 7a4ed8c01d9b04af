/**
 * T=1 blocks as NXP's SE05x speaks them over I²C (UM11225; pnt phNxpEseProto7816_3.[ch];
 * ISO 7816-3 §11.3; reference/se050.md §8): `NAD PCB LEN INF CRC16`, NAD 5A host→SE and A5
 * SE→host, a one-byte LEN, CRC-16/X-25 over NAD..INF sent LSB first.
 * PCB: I-block `0 N(S) M 00000`; R-block `100 N(R) 00 ee`; S-block request `110 0 tttt`
 * (C0|t), response `111 0 tttt` (E0|t).
 */
import { crc16X25 } from './t1-crc.js';

/** Node addresses. */
export const Nad = { HOST_TO_SE: 0x5a, SE_TO_HOST: 0xa5 } as const;

/** S-block types. */
export const SType = { RESYNCH: 0x00, IFS: 0x01, ABORT: 0x02, WTX: 0x03, END_OF_APDU: 0x05, CHIP_RESET: 0x06, GET_ATR: 0x07, INTERFACE_RESET: 0x0f } as const;

/** R-block error codes (PCB bits 0-1). */
export const RError = { NONE: 0, CRC: 1, OTHER: 2 } as const;

/** The largest INF the SE takes (IFSC) and the one-byte LEN allows. */
export const IFSC = 254;

/** A decoded block. */
export type T1Block =
  | { kind: 'I'; ns: 0 | 1; more: boolean; inf: Uint8Array }
  | { kind: 'R'; nr: 0 | 1; error: number }
  | { kind: 'S'; response: boolean; type: number; inf: Uint8Array };

/** Encodes `block` from `nad`. */
export function encodeBlock(block: T1Block, nad: number = Nad.HOST_TO_SE): Uint8Array {
  let pcb: number;
  let inf: Uint8Array = new Uint8Array(0);
  if (block.kind === 'I') {
    pcb = (block.ns << 6) | (block.more ? 0x20 : 0);
    inf = block.inf;
  } else if (block.kind === 'R') {
    pcb = 0x80 | (block.nr << 4) | (block.error & 0x03);
  } else {
    pcb = (block.response ? 0xe0 : 0xc0) | (block.type & 0x1f);
    inf = block.inf;
  }
  if (inf.length > IFSC) throw new RangeError(`T=1 INF of ${inf.length} bytes is over ${IFSC}`);
  const out = new Uint8Array(3 + inf.length + 2);
  out.set([nad, pcb, inf.length], 0);
  out.set(inf, 3);
  const crc = crc16X25(out.subarray(0, 3 + inf.length));
  out[3 + inf.length] = crc & 0xff;
  out[4 + inf.length] = crc >> 8;
  return out;
}

/** A decode outcome: the block, or why the frame is unusable (the receiver answers an R-block with an error). */
export type DecodedBlock = { ok: true; nad: number; block: T1Block } | { ok: false; error: 'length' | 'crc' | 'pcb' };

/** Decodes one whole frame (NAD through CRC). */
export function decodeBlock(frame: Uint8Array): DecodedBlock {
  if (frame.length < 5 || frame[2]! + 5 !== frame.length) return { ok: false, error: 'length' };
  const n = frame[2]!;
  const crc = frame[3 + n]! | (frame[4 + n]! << 8);
  if (crc !== crc16X25(frame.subarray(0, 3 + n))) return { ok: false, error: 'crc' };
  const pcb = frame[1]!;
  const inf = frame.slice(3, 3 + n);
  if ((pcb & 0x80) === 0) {
    if ((pcb & 0x1f) !== 0) return { ok: false, error: 'pcb' };
    return { ok: true, nad: frame[0]!, block: { kind: 'I', ns: ((pcb >> 6) & 1) as 0 | 1, more: (pcb & 0x20) !== 0, inf } };
  }
  if ((pcb & 0xc0) === 0x80) {
    if (n !== 0 || (pcb & 0x2c) !== 0) return { ok: false, error: 'pcb' };
    return { ok: true, nad: frame[0]!, block: { kind: 'R', nr: ((pcb >> 4) & 1) as 0 | 1, error: pcb & 0x03 } };
  }
  return { ok: true, nad: frame[0]!, block: { kind: 'S', response: (pcb & 0x20) !== 0, type: pcb & 0x1f, inf } };
}
