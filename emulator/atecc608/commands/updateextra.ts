/**
 * UpdateExtra (0x20): mode 0x00 sets config byte 84 (UserExtra), 0x01 byte 85 (UserExtraAdd) to
 * LSB(param2), once: a byte already non-zero answers execution error. It runs on an unlocked
 * config zone too: cryptoauthlib's calib_write_config_zone ends every config write with
 * UpdateExtra for bytes 84 and 85, before any lock. Mode 0x02 spends one use of the limited-use
 * key in slot param2 (advances counter 0 as a use would; see key-use.ts).
 */
import { Cfg } from '../state.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { consumeLimitedUse } from './key-use.js';

/** Handles UpdateExtra. */
export const updateextra: CommandHandler = ({ state }, cmd) => {
  if (cmd.data.length !== 0 || cmd.param1 > 0x02) return Status.PARSE_ERROR;
  if (cmd.param1 === 0x02) {
    const slot = cmd.param2;
    if (slot > 15) return Status.PARSE_ERROR;
    if (!state.configLocked() || !state.slotConfig(slot).limitedUse) return Status.EXECUTION_ERROR;
    return consumeLimitedUse(state) ? Status.SUCCESS : Status.EXECUTION_ERROR;
  }
  if (cmd.param2 > 0xff) return Status.PARSE_ERROR;
  const at = cmd.param1 === 0 ? Cfg.USER_EXTRA : Cfg.USER_EXTRA_ADD;
  if (state.config[at] !== 0) return Status.EXECUTION_ERROR;
  state.config[at] = cmd.param2;
  return Status.SUCCESS;
};
