/**
 * Blank parts as they leave Microchip: unique serial (SN[0:1] = 01 23, SN[8] = EE, six unique
 * bytes between), revision 00 00 60 02, the generic factory configuration (unlocked, I2C
 * address C0), SlotLocked FF FF, counters at zero.
 */
import { randomBytes } from 'node:crypto';
import { isValidScalar, randomScalar } from './ecc.js';
import { Atecc608Chip, type ChipOptions } from './chip.js';
import { ChipState } from './state.js';

/**
 * Bytes 16-127 of an unconfigured 608 as seen in public config dumps (cryptoauthlib issues #51,
 * #56, #403): slots 0-2 P-256 private keys, 3-7 data, 8-14 data/public, 15 data; unlocked.
 */
const FACTORY_BODY = Buffer.from(
  'C0000000832087208F20C48F8F8F8F8F' +
    '9F8FAF8F000000000000000000000000' +
    '0000AF8FFFFFFFFF00000000FFFFFFFF' +
    '00000000000000000000000000000000' +
    '0000000000005555FFFF000000000000' +
    '3300330033001C001C001C001C001C00' +
    '3C003C003C003C003C003C003C001C00',
  'hex',
);

/** Revision bytes (config 4-7 and the Info reply) of a 608A. */
export const REVISION_608A = Uint8Array.of(0x00, 0x00, 0x60, 0x02);
/** Revision bytes of a 608B. */
export const REVISION_608B = Uint8Array.of(0x00, 0x00, 0x60, 0x03);

/** Options for a new blank part. */
export interface BlankChipOptions extends ChipOptions {
  /** Fixed serial (9 bytes); by default a unique random one. */
  serial?: Uint8Array;
  revision?: Uint8Array;
  /** Make a "cloned" part: GenKey in slot 0 yields the same key as this chip (or this 32-byte scalar). */
  cloneOf?: Atecc608Chip | Uint8Array;
}

const issued = new Set<string>();

/** A unique realistic serial number: 01 23 ‖ 6 random bytes ‖ EE. */
export function newSerial(): Uint8Array {
  for (;;) {
    const sn = new Uint8Array(9);
    sn.set([0x01, 0x23], 0);
    sn.set(randomBytes(6), 2);
    sn[8] = 0xee;
    const hex = Buffer.from(sn).toString('hex');
    if (!issued.has(hex)) {
      issued.add(hex);
      return sn;
    }
  }
}

/** A blank, unlocked chip state with the given serial and revision. */
export function blankState(serial: Uint8Array = newSerial(), revision: Uint8Array = REVISION_608A): ChipState {
  const s = new ChipState();
  s.config.set(serial.subarray(0, 4), 0);
  s.config.set(revision, 4);
  s.config.set(serial.subarray(4, 9), 8);
  // AES enable, I2C enable, reserved (as in cryptoauthlib's 608 test configuration).
  s.config.set([0x01, 0x01, 0x00], 13);
  s.config.set(FACTORY_BODY, 16);
  return s;
}

/** Creates a blank part; see BlankChipOptions. */
export function createBlankChip(opts: BlankChipOptions = {}): Atecc608Chip {
  const state = blankState(opts.serial ?? newSerial(), opts.revision ?? REVISION_608A);
  if (opts.cloneOf) state.cloneScalar = cloneScalarOf(opts.cloneOf);
  return new Atecc608Chip(state, opts);
}

function cloneScalarOf(src: Atecc608Chip | Uint8Array): Uint8Array {
  if (src instanceof Uint8Array) {
    if (!isValidScalar(src)) throw new RangeError('cloneOf: not a valid P-256 private scalar');
    return src.slice();
  }
  const inSlot = src.state.slots[0]!.subarray(4, 36);
  if (src.state.isEccPrivate(0) && isValidScalar(inSlot)) return inSlot.slice();
  // The original has no key yet: both parts will produce the same one at their first GenKey.
  src.state.cloneScalar ??= randomScalar();
  return src.state.cloneScalar;
}
