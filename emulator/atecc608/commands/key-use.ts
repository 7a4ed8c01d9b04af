/**
 * The use rules every command that uses a slot key applies before using it:
 * - KeyConfig.PersistentDisable (bit 12): the key works only while the persistent latch is set
 *   (Info mode 0x04; cryptoauthlib calib_info_set_latch and its volatile_key_permit test).
 * - SlotConfig.LimitedUse (bit 5): each use advances monotonic counter 0 and is refused once the
 *   counter has reached the count-match value (CountMatch, config byte 18: bit 0 on, bits 4-7 the
 *   slot whose first 4 bytes hold the value little-endian; cryptoauthlib's atcah_encode_counter_match
 *   writes it twice, the model reads the first copy) or, with CountMatch off, the counter's
 *   maximum. This is cryptoauthlib's counter_match test: Sign with the slot-0 key (LimitedUse in
 *   its 608 test configuration) succeeds and leaves counter 0 at the match value, the next Sign
 *   answers 0x0F and the counter stays.
 * A refused use changes nothing and the command answers execution error (0x0F).
 */
import { Cfg, COUNTER_MAX, type ChipState } from '../state.js';

/** True when `slot`'s key may be used now, for a key that is not limited by counter 0. */
export function keyEnabled(state: ChipState, slot: number): boolean {
  return !state.keyConfig(slot).persistentDisable || state.persistentLatch;
}

/** The value counter 0 may not reach for limited-use keys. */
export function countLimit(state: ChipState): number {
  const cm = state.config[Cfg.COUNT_MATCH]!;
  if ((cm & 0x01) === 0) return COUNTER_MAX;
  const slot = state.slots[cm >> 4]!;
  const match = (slot[0]! | (slot[1]! << 8) | (slot[2]! << 16) | (slot[3]! << 24)) >>> 0;
  return Math.min(match, COUNTER_MAX);
}

/** One limited use of a key: advances counter 0, or refuses (false) at the limit. */
export function consumeLimitedUse(state: ChipState): boolean {
  const now = state.counter(0);
  if (now >= countLimit(state)) return false;
  state.setCounter(0, now + 1);
  return true;
}

/** Applies the use rules to `slot`'s key for one use; false when the chip refuses it. */
export function useSlotKey(state: ChipState, slot: number): boolean {
  if (!keyEnabled(state, slot)) return false;
  if (!state.slotConfig(slot).limitedUse) return true;
  return consumeLimitedUse(state);
}
