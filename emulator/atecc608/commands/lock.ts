/**
 * Lock (0x17): mode 0 config zone, 1 data + OTP zones, 2 one slot (slot in bits 2-5); bit 7 skips
 * the summary CRC in param2 (datasheet §"Lock command"; cryptoauthlib calib_lock.c).
 */
import { crc16 } from '../../../secure-element/crc.js';
import { Cfg, type ChipState } from '../state.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';

/** The summary CRC a config-zone Lock checks: CRC-16 over all 128 config bytes. */
export function configSummaryCrc(state: ChipState): number {
  return crc16(state.config);
}

/**
 * The summary CRC a data-zone Lock checks: CRC-16 over the slots in order, private-key slots
 * (KeyConfig.Private) skipped, then the 64 OTP bytes (cryptoauthlib calib_lock_data_zone_crc).
 */
export function dataSummaryCrc(state: ChipState): number {
  const parts: Uint8Array[] = [];
  for (let s = 0; s < 16; s++) if (!state.keyConfig(s).private) parts.push(state.slots[s]!);
  parts.push(state.otp);
  return crc16(Buffer.concat(parts));
}

/** Handles Lock. */
export const lock: CommandHandler = ({ state }, cmd) => {
  if (cmd.data.length !== 0 || (cmd.param1 & 0x40) !== 0) return Status.PARSE_ERROR;
  const mode = cmd.param1 & 0x03;
  const noCrc = (cmd.param1 & 0x80) !== 0;
  if (mode === 3) return Status.PARSE_ERROR;
  if (mode !== 2 && (cmd.param1 & 0x3c) !== 0) return Status.PARSE_ERROR;
  if (mode === 0) {
    if (state.configLocked()) return Status.EXECUTION_ERROR;
    // A summary mismatch means the host's idea of the config differs from the chip's: refuse.
    if (!noCrc && configSummaryCrc(state) !== cmd.param2) return Status.EXECUTION_ERROR;
    state.config[Cfg.LOCK_CONFIG] = 0x00;
    return Status.SUCCESS;
  }
  if (mode === 1) {
    if (!state.configLocked() || state.dataLocked()) return Status.EXECUTION_ERROR;
    if (!noCrc && dataSummaryCrc(state) !== cmd.param2) return Status.EXECUTION_ERROR;
    state.config[Cfg.LOCK_VALUE] = 0x00;
    return Status.SUCCESS;
  }
  // Slot lock: cryptoauthlib's calib_lock_data_slot sends param2 = 0 without the no-CRC bit, so
  // the CRC is not checked here.
  const slot = (cmd.param1 >> 2) & 0x0f;
  if (!state.dataLocked() || !state.keyConfig(slot).lockable || state.slotLocked(slot)) return Status.EXECUTION_ERROR;
  const bits = (state.config[Cfg.SLOT_LOCKED]! | (state.config[Cfg.SLOT_LOCKED + 1]! << 8)) & ~(1 << slot);
  state.config[Cfg.SLOT_LOCKED] = bits & 0xff;
  state.config[Cfg.SLOT_LOCKED + 1] = (bits >> 8) & 0xff;
  return Status.SUCCESS;
};
