/**
 * Counter (0x24): mode 0x00 reads, 0x01 increments counter param2 (0 or 1); both return the
 * 4-byte little-endian value. The counters are monotonic and stop at 2,097,151, after which an
 * increment answers execution error (datasheet §"Monotonic counters"). They are stored in config
 * bytes 52-67 in the chip's encoding (counter-encoding.ts), so they persist with the config zone.
 */
import { COUNTER_MAX } from '../state.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';

/** Handles Counter. */
export const counter: CommandHandler = ({ state }, cmd) => {
  if (cmd.param1 > 0x01 || cmd.param2 > 1 || cmd.data.length !== 0) return Status.PARSE_ERROR;
  const id = cmd.param2 as 0 | 1;
  if (cmd.param1 === 0x01) {
    const now = state.counter(id);
    if (now >= COUNTER_MAX) return Status.EXECUTION_ERROR;
    state.setCounter(id, now + 1);
  }
  const v = state.counter(id);
  return Uint8Array.of(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
};
