/**
 * DeriveKey (0x1C): writes a new key into slot param2, SHA-256(parent ‖ 0x1C ‖ mode ‖ param2 LE ‖
 * SN[8] ‖ SN[0:1] ‖ 25 zeros ‖ TempKey) (cryptoauthlib atcah_derive_key). The target's
 * SlotConfig.WriteConfig decides (datasheet "WriteConfig bits, DeriveKey"): bit 13 must be set;
 * bit 12 set = Create (parent = the WriteKey slot), clear = Roll (parent = the target itself);
 * bit 15 set = an authorising MAC is required in the data, SHA-256(parent ‖ 0x1C ‖ mode ‖ param2
 * LE ‖ SN[8] ‖ SN[0:1]) (atcah_derive_key_mac; calib_derivekey sends 32 bytes or none). Mode bit
 * 2 must match TempKey.SourceFlag (DERIVE_KEY_RANDOM_FLAG); TempKey is consumed. A wrong MAC
 * answers 0x01 (miscompare) and changes nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { useSlotKey } from './key-use.js';

/** Handles DeriveKey. */
export const derivekey: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  const target = cmd.param2;
  if ((mode & ~0x04) !== 0 || target > 15 || (cmd.data.length !== 0 && cmd.data.length !== 32)) return Status.PARSE_ERROR;
  if (!state.configLocked() || state.keyConfig(target).private || state.slotLocked(target)) return Status.EXECUTION_ERROR;
  const sc = state.slotConfig(target);
  const wc = sc.writeConfig;
  if ((wc & 0x2) === 0) return Status.EXECUTION_ERROR;
  const parentSlot = wc & 0x1 ? sc.writeKey : target;
  const macRequired = (wc & 0x8) !== 0;
  if (macRequired && cmd.data.length !== 32) return Status.EXECUTION_ERROR;
  const tk = state.tempKey;
  const sourceFlag = (mode & 0x04) !== 0 ? 1 : 0;
  if (!tk.valid || tk.noMacFlag || tk.sourceFlag !== sourceFlag) return Status.EXECUTION_ERROR;
  if (state.keyConfig(parentSlot).private) return Status.EXECUTION_ERROR;
  const parent = state.slots[parentSlot]!.subarray(0, 32);
  const sn = state.serialNumber();
  const header = Uint8Array.of(0x1c, mode, target & 0xff, target >> 8, sn[8]!, sn[0]!, sn[1]!);
  if (macRequired) {
    const expected = createHash('sha256').update(parent).update(header).digest();
    if (!timingSafeEqual(expected, cmd.data)) return Status.MISCOMPARE;
  }
  if (!useSlotKey(state, parentSlot)) return Status.EXECUTION_ERROR;
  const key = createHash('sha256').update(parent).update(header).update(new Uint8Array(25)).update(tk.value.subarray(0, 32)).digest();
  state.slots[target]!.set(key, 0);
  state.keyCache.delete(target);
  tk.valid = false;
  return Status.SUCCESS;
};
