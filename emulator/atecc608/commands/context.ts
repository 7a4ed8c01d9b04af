/**
 * What a command handler sees: the chip state and the chip's RNG. Each handler parses its
 * parameters, checks state and permissions, applies its effect and returns data or a status.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from '../../../secure-element/packet.js';
import type { ChipState } from '../state.js';
import type { CommandResult } from '../status.js';

/** The chip as a handler sees it. */
export interface ChipContext {
  state: ChipState;
}

/** One opcode's handler. */
export type CommandHandler = (ctx: ChipContext, cmd: Command) => CommandResult;

/**
 * 32 bytes from the chip's RNG. Until the config zone is locked the 608 returns the diagnostic
 * pattern FF FF 00 00 repeated (Microchip, cryptoauthlib issue #121).
 */
export function chipRandom(ctx: ChipContext): Uint8Array {
  if (!ctx.state.configLocked()) {
    const p = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) p.set([0xff, 0xff, 0x00, 0x00], i);
    return p;
  }
  return new Uint8Array(randomBytes(32));
}
