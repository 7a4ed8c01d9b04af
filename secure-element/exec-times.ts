/**
 * The ATECC608's maximum execution time per command, in ms, as cryptoauthlib's no-poll table
 * gives it (lib/calib/calib_execution.c, device_execution_time_608_m0/m1/m2). The driver passes
 * these as `maxExecMs` so links that must poll (a kit, a bus) know how long to wait.
 */
import { Opcode } from './opcodes.js';

/** Clock divider from ChipMode bits 3-7 (config byte 19): M0 0x00, M1 0x28, M2 0x68. */
export type ClockDivider = 'M0' | 'M1' | 'M2';

const M0: Record<number, number> = {
  [Opcode.AES]: 27,
  [Opcode.CHECKMAC]: 40,
  [Opcode.COUNTER]: 25,
  [Opcode.DERIVE_KEY]: 50,
  [Opcode.ECDH]: 75,
  [Opcode.GENDIG]: 25,
  [Opcode.GENKEY]: 115,
  [Opcode.INFO]: 5,
  [Opcode.KDF]: 165,
  [Opcode.LOCK]: 35,
  [Opcode.MAC]: 55,
  [Opcode.NONCE]: 20,
  [Opcode.PRIVWRITE]: 50,
  [Opcode.RANDOM]: 23,
  [Opcode.READ]: 5,
  [Opcode.SECUREBOOT]: 80,
  [Opcode.SELFTEST]: 250,
  [Opcode.SHA]: 36,
  [Opcode.SIGN]: 115,
  [Opcode.UPDATE_EXTRA]: 10,
  [Opcode.VERIFY]: 105,
  [Opcode.WRITE]: 45,
};

// The slower clock dividers only stretch the ECC and SHA engines (same cryptoauthlib tables).
const M1: Record<number, number> = {
  ...M0,
  [Opcode.ECDH]: 172,
  [Opcode.GENDIG]: 35,
  [Opcode.GENKEY]: 215,
  [Opcode.SECUREBOOT]: 160,
  [Opcode.SELFTEST]: 625,
  [Opcode.SHA]: 42,
  [Opcode.SIGN]: 220,
  [Opcode.VERIFY]: 295,
};
const M2: Record<number, number> = {
  ...M0,
  [Opcode.ECDH]: 531,
  [Opcode.GENDIG]: 35,
  [Opcode.GENKEY]: 653,
  [Opcode.SECUREBOOT]: 480,
  [Opcode.SELFTEST]: 2324,
  [Opcode.SHA]: 75,
  [Opcode.SIGN]: 665,
  [Opcode.VERIFY]: 1085,
};

const TABLES: Record<ClockDivider, Record<number, number>> = { M0, M1, M2 };

/** Fallback for an opcode not in the table: the longest M0 time, so a poller never gives up early. */
export const DEFAULT_EXEC_MS = 250;

/** The maximum execution time of `opcode` at the given clock divider (M0 unless told). */
export function execTimeMs(opcode: number, clock: ClockDivider = 'M0'): number {
  return TABLES[clock][opcode] ?? DEFAULT_EXEC_MS;
}

/** Decodes the clock divider from ChipMode (config byte 19, bits 3-7). */
export function clockDividerOf(chipMode: number): ClockDivider {
  const div = chipMode & 0xf8;
  return div === 0x28 ? 'M1' : div === 0x68 ? 'M2' : 'M0';
}
