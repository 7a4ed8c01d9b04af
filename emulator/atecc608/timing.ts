/**
 * Maximum execution times of the 608, in ms, from cryptoauthlib's no-poll table
 * (lib/calib/calib_execution.c, device_execution_time_608_m0/m1/m2), chosen by the clock divider
 * in ChipMode (config byte 19, bits 3-7: 0x00 = M0, 0x05 = M1, 0x0D = M2).
 */
import { Opcode } from './status.js';

type Table = Partial<Record<number, number>>;

const M0: Table = {
  [Opcode.AES]: 27, [Opcode.CHECKMAC]: 40, [Opcode.COUNTER]: 25, [Opcode.DERIVE_KEY]: 50, [Opcode.ECDH]: 75,
  [Opcode.GENDIG]: 25, [Opcode.GENKEY]: 115, [Opcode.INFO]: 5, [Opcode.KDF]: 165, [Opcode.LOCK]: 35,
  [Opcode.MAC]: 55, [Opcode.NONCE]: 20, [Opcode.PRIVWRITE]: 50, [Opcode.RANDOM]: 23, [Opcode.READ]: 5,
  [Opcode.SECUREBOOT]: 80, [Opcode.SELFTEST]: 250, [Opcode.SHA]: 36, [Opcode.SIGN]: 115,
  [Opcode.UPDATE_EXTRA]: 10, [Opcode.VERIFY]: 105, [Opcode.WRITE]: 45,
};
const M1: Table = {
  ...M0, [Opcode.ECDH]: 172, [Opcode.GENDIG]: 35, [Opcode.GENKEY]: 215, [Opcode.SECUREBOOT]: 160,
  [Opcode.SELFTEST]: 625, [Opcode.SHA]: 42, [Opcode.SIGN]: 220, [Opcode.VERIFY]: 295,
};
const M2: Table = {
  ...M0, [Opcode.ECDH]: 531, [Opcode.GENDIG]: 35, [Opcode.GENKEY]: 653, [Opcode.SECUREBOOT]: 480,
  [Opcode.SELFTEST]: 2324, [Opcode.SHA]: 75, [Opcode.SIGN]: 665, [Opcode.VERIFY]: 1085,
};

/** The clock-divider field of ChipMode (config byte 19, bits 3-7). */
export function clockDivider(chipMode: number): number {
  return (chipMode >> 3) & 0x1f;
}

/**
 * The maximum execution time of `opcode` for a chip whose ChipMode byte is `chipMode`; an opcode
 * the chip rejects at parse time costs the shortest time in the table (the chip answers at once).
 */
export function execTimeMs(opcode: number, chipMode = 0): number {
  const div = clockDivider(chipMode);
  const table = div === 0x05 ? M1 : div === 0x0d ? M2 : M0;
  return table[opcode] ?? 1;
}

/**
 * Watchdog period: ChipMode bit 2 selects about 13 s instead of the default about 1.3 s
 * (datasheet §"Watchdog failsafe"; cryptoauthlib ATCA_CHIPMODE_WATCHDOG_LONG).
 */
export function watchdogMs(chipMode = 0): number {
  return chipMode & 0x04 ? 13_000 : 1_300;
}
