/**
 * UpdateExtra (0x20): after config lock, sets config byte 84 (mode 0x00, UserExtra) or 85 (mode
 * 0x01, UserExtraAdd) to LSB(param2), once: a byte already non-zero answers execution error.
 * Mode 0x02 (decrement a limited-use counter) is not modelled.
 */
import { Cfg } from '../state.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';

/** Handles UpdateExtra. */
export const updateextra: CommandHandler = ({ state }, cmd) => {
  if (cmd.data.length !== 0) return Status.PARSE_ERROR;
  if (cmd.param1 === 0x02) return Status.EXECUTION_ERROR;
  if (cmd.param1 > 0x01 || cmd.param2 > 0xff) return Status.PARSE_ERROR;
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  const at = cmd.param1 === 0 ? Cfg.USER_EXTRA : Cfg.USER_EXTRA_ADD;
  if (state.config[at] !== 0) return Status.EXECUTION_ERROR;
  state.config[at] = cmd.param2;
  return Status.SUCCESS;
};
