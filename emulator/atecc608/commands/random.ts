/**
 * Random (0x1B): 32 random bytes; mode 0x00 updates the seed, 0x01 does not. Before config lock the
 * output is the fixed test pattern (see chipRandom).
 */
import { Status } from '../status.js';
import { chipRandom, type CommandHandler } from './context.js';

/** Handles Random. */
export const random: CommandHandler = (ctx, cmd) => {
  if (cmd.param1 > 0x01 || cmd.param2 !== 0 || cmd.data.length !== 0) return Status.PARSE_ERROR;
  return chipRandom(ctx);
};
