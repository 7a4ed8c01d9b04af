/**
 * The ATECC command and response frames (count, opcode, param1, param2 LE, data, CRC; and
 * count, data, CRC). Encoded and decoded here only: the emulator and the host driver share it.
 */
import { SecureElementError } from '../common/errors.js';
import { checkCrc, crcBytes } from './crc.js';

/** A decoded command. */
export interface Command {
  opcode: number;
  param1: number;
  param2: number;
  data: Uint8Array;
}

/** Word-address bytes the host writes before a frame (datasheet §6.2.1). */
export const WordAddress = { RESET: 0x00, SLEEP: 0x01, IDLE: 0x02, COMMAND: 0x03 } as const;

/** The largest frame the 608's I/O buffer takes (count byte included). */
export const MAX_PACKET = 155;

/** Encodes a command frame from the count byte through the CRC. */
export function encodeCommand(cmd: Command): Uint8Array {
  const count = 7 + cmd.data.length;
  if (count > MAX_PACKET) throw new SecureElementError('ATCA_BAD_PARAM', `command data too long: ${cmd.data.length} bytes`);
  const p = new Uint8Array(count);
  p[0] = count;
  p[1] = cmd.opcode;
  p[2] = cmd.param1;
  p[3] = cmd.param2 & 0xff;
  p[4] = (cmd.param2 >> 8) & 0xff;
  p.set(cmd.data, 5);
  const [lo, hi] = crcBytes(p, 0, count - 2);
  p[count - 2] = lo;
  p[count - 1] = hi;
  return p;
}

/** Result of decoding a frame the chip received: a command, or the status the chip must answer. */
export type DecodedCommand = { ok: true; command: Command } | { ok: false; status: number };

/**
 * Decodes a command frame as the chip would: a bad count or CRC is a communication error (0xFF),
 * a frame shorter than the minimum a parse error (0x03).
 */
export function decodeCommand(frame: Uint8Array): DecodedCommand {
  if (frame.length < 1 || frame[0] !== frame.length || frame.length > MAX_PACKET) return { ok: false, status: 0xff };
  if (frame.length < 7) return { ok: false, status: 0x03 };
  if (!checkCrc(frame)) return { ok: false, status: 0xff };
  return {
    ok: true,
    command: {
      opcode: frame[1]!,
      param1: frame[2]!,
      param2: frame[3]! | (frame[4]! << 8),
      data: frame.subarray(5, frame.length - 2),
    },
  };
}

/** Encodes a response frame: count, data, CRC. */
export function encodeResponse(data: Uint8Array): Uint8Array {
  const count = data.length + 3;
  const r = new Uint8Array(count);
  r[0] = count;
  r.set(data, 1);
  const [lo, hi] = crcBytes(r, 0, count - 2);
  r[count - 2] = lo;
  r[count - 1] = hi;
  return r;
}

/** A 4-byte status-only response. */
export function statusResponse(status: number): Uint8Array {
  return encodeResponse(Uint8Array.of(status));
}

/** A decoded response: its data, and the status byte when it is a 4-byte status frame. */
export interface Response {
  data: Uint8Array;
  status?: number;
}

/** Decodes a response frame, checking count and CRC; throws ATCA_CRC_ERROR / ATCA_BAD_RESPONSE. */
export function decodeResponse(frame: Uint8Array): Response {
  if (frame.length < 4 || frame[0] !== frame.length) {
    throw new SecureElementError('ATCA_BAD_RESPONSE', `response length ${frame.length} does not match count byte ${frame[0] ?? 'none'}`);
  }
  if (!checkCrc(frame)) throw new SecureElementError('ATCA_CRC_ERROR', 'response CRC mismatch');
  const data = frame.subarray(1, frame.length - 2);
  return frame.length === 4 ? { data, status: data[0]! } : { data };
}
