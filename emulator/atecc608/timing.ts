/**
 * Maximum execution times of the 608, in ms, from cryptoauthlib's no-poll table
 * (lib/calib/calib_execution.c, device_execution_time_608_m0/m1/m2), chosen by the clock divider
 * in ChipMode (config byte 19, bits 3-7: 0x00 = M0, 0x05 = M1, 0x0D = M2).
 */
import { clockDividerOf, execTimeMs as maxExecMs } from '../../secure-element/exec-times.js';
import { Opcode } from '../../secure-element/opcodes.js';

const KNOWN = new Set<number>(Object.values(Opcode));

/**
 * The maximum execution time of `opcode` for a chip whose ChipMode byte is `chipMode` (the one
 * table the host driver also polls by); an opcode the chip rejects at parse time costs 1 ms
 * (the chip answers at once).
 */
export function execTimeMs(opcode: number, chipMode = 0): number {
  return KNOWN.has(opcode) ? maxExecMs(opcode, clockDividerOf(chipMode)) : 1;
}

/**
 * Watchdog period: ChipMode bit 2 selects about 13 s instead of the default about 1.3 s
 * (datasheet §"Watchdog failsafe"; cryptoauthlib ATCA_CHIPMODE_WATCHDOG_LONG).
 */
export function watchdogMs(chipMode = 0): number {
  return chipMode & 0x04 ? 13_000 : 1_300;
}
