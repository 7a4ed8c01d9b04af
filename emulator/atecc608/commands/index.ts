/**
 * The opcode table: one handler per implemented opcode. Anything else answers parse error (0x03),
 * as the chip does for an opcode it does not know.
 */
import { Opcode } from '../status.js';
import type { CommandHandler } from './context.js';
import { genkey } from './genkey.js';
import { info } from './info.js';
import { lock } from './lock.js';
import { nonce } from './nonce.js';
import { random } from './random.js';
import { read } from './read.js';
import { sign } from './sign.js';
import { write } from './write.js';

/** Handlers by opcode. */
export const COMMANDS: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [Opcode.INFO, info],
  [Opcode.READ, read],
  [Opcode.WRITE, write],
  [Opcode.LOCK, lock],
  [Opcode.RANDOM, random],
  [Opcode.NONCE, nonce],
  [Opcode.GENKEY, genkey],
  [Opcode.SIGN, sign],
]);
