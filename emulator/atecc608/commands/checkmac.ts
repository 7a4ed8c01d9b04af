/**
 * CheckMac (0x28): recomputes a MAC over key (slot param2 or TempKey), challenge (ClientChal or
 * TempKey) and 13 OtherData bytes, and compares it with ClientResp (cryptoauthlib atcah_check_mac).
 * Data = ClientChal(32) ‖ ClientResp(32) ‖ OtherData(13). Answers 0x00 on a match, 0x01 otherwise.
 * A match proves the slot's key, which is what setting the persistent latch asks for (Info mode
 * 0x04). The copy-to-TempKey variant is not modelled.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { useSlotKey } from './key-use.js';
import { tempKeyUsable } from './mac.js';

/** Handles CheckMac. */
export const checkmac: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  if ((mode & ~0x27) !== 0 || cmd.data.length !== 77) return Status.PARSE_ERROR;
  const slot = cmd.param2;
  if (slot > 15) return Status.PARSE_ERROR;
  const chalFromTempKey = (mode & 0x01) !== 0;
  const keyFromTempKey = (mode & 0x02) !== 0;
  if (!keyFromTempKey && state.keyConfig(slot).private) return Status.EXECUTION_ERROR;
  if ((chalFromTempKey || keyFromTempKey) && !tempKeyUsable(state, mode)) return Status.EXECUTION_ERROR;
  if (!keyFromTempKey && !useSlotKey(state, slot)) return Status.EXECUTION_ERROR;
  const chal = cmd.data.subarray(0, 32);
  const resp = cmd.data.subarray(32, 64);
  const other = cmd.data.subarray(64, 77);
  const sn = state.serialNumber();
  const m = new Uint8Array(88);
  m.set(keyFromTempKey ? state.tempKey.value.subarray(0, 32) : state.slots[slot]!.subarray(0, 32), 0);
  m.set(chalFromTempKey ? state.tempKey.value.subarray(0, 32) : chal, 32);
  m.set(other.subarray(0, 4), 64);
  if (mode & 0x20) m.set(state.otp.subarray(0, 8), 68);
  m.set(other.subarray(4, 7), 76);
  m[79] = sn[8]!;
  m.set(other.subarray(7, 11), 80);
  m.set(sn.subarray(0, 2), 84);
  m.set(other.subarray(11, 13), 86);
  const expected = createHash('sha256').update(m).digest();
  state.tempKey.valid = false;
  if (!timingSafeEqual(expected, resp)) return Status.MISCOMPARE;
  if (!keyFromTempKey) state.authorizedSlot = slot;
  return Status.SUCCESS;
};
