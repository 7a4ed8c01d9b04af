/**
 * GenDig (0x15): folds a stored value into TempKey, TempKey = SHA-256 of a 96-byte message (the
 * layout of cryptoauthlib's atcah_gen_dig, zone by zone):
 *   value(32) ‖ 0x15 ‖ zone ‖ param2 LE ‖ SN[8] ‖ SN[0:1] ‖ 25 bytes ‖ TempKey(32)
 * - 0 config block, 1 OTP block: value = the 32-byte block.
 * - 2 data slot: value = the slot's key. 4 bytes of OtherData may follow (cryptoauthlib always
 *   sends them for encrypted read/write and PrivWrite); they replace opcode, zone and param2 in the
 *   message when the key's SlotConfig.NoMac is set (and are then required), and are ignored otherwise.
 * - 3 shared nonce: 32 bytes of data; param2 bit 15 set: value = TempKey and the data replaces
 *   TempKey at the end; clear: value = the data. Byte 34 is param2's LSB (cryptoauthlib's
 *   gendig_shared_nonce test sends 0x0004 and 0x8004), byte 35 is 0.
 * - 4 counter param2: value = zeros; the 25 bytes become 0 ‖ counter (4, LE) ‖ 20 zeros.
 * - 5 key config of slot param2: value = zeros; the 25 bytes become 0 ‖ SlotConfig (2, LE) ‖
 *   KeyConfig (2, LE) ‖ the slot's SlotLocked bit (1 = unlocked, as Sign internal encodes it) ‖ 19 zeros.
 * TempKey must be valid before. Afterwards GenDigData and KeyId record a data-zone key only.
 */
import { createHash } from 'node:crypto';
import { Cfg } from '../state.js';
import { Opcode, Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { useSlotKey } from './key-use.js';

/** Handles GenDig. */
export const gendig: CommandHandler = ({ state }, cmd) => {
  const zone = cmd.param1;
  const id = cmd.param2;
  const data = cmd.data;
  if (zone > 5) return Status.PARSE_ERROR;
  const expected = zone === 3 ? [32] : zone === 2 ? [0, 4] : [0];
  if (!expected.includes(data.length)) return Status.PARSE_ERROR;
  const msg = new Uint8Array(96);
  const sn = state.serialNumber();
  msg.set([Opcode.GENDIG, zone, id & 0xff, id >> 8, sn[8]!, sn[0]!, sn[1]!], 32);
  const tk = state.tempKey;
  let last: Uint8Array = tk.value.subarray(0, 32);
  let noMac = false;
  switch (zone) {
    case 0:
    case 1:
      if (id > (zone === 0 ? 3 : 1)) return Status.PARSE_ERROR;
      msg.set((zone === 0 ? state.config : state.otp).subarray(id * 32, id * 32 + 32), 0);
      break;
    case 2: {
      if (id > 15) return Status.PARSE_ERROR;
      // A private key never feeds a digest.
      if (state.keyConfig(id).private) return Status.EXECUTION_ERROR;
      noMac = state.slotConfig(id).noMac;
      if (noMac && data.length !== 4) return Status.EXECUTION_ERROR;
      if (!tk.valid || !useSlotKey(state, id)) return Status.EXECUTION_ERROR;
      msg.set(state.slots[id]!.subarray(0, 32), 0);
      if (noMac) msg.set(data, 32);
      break;
    }
    case 3:
      msg[35] = 0;
      if (id & 0x8000) {
        msg.set(tk.value.subarray(0, 32), 0);
        last = data;
      } else {
        msg.set(data, 0);
      }
      break;
    case 4: {
      if (id > 1) return Status.PARSE_ERROR;
      const v = state.counter(id as 0 | 1);
      msg.set([0, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff], 39);
      break;
    }
    default:
      if (id > 15) return Status.PARSE_ERROR;
      msg.set(state.config.subarray(Cfg.SLOT_CONFIG + 2 * id, Cfg.SLOT_CONFIG + 2 * id + 2), 40);
      msg.set(state.config.subarray(Cfg.KEY_CONFIG + 2 * id, Cfg.KEY_CONFIG + 2 * id + 2), 42);
      msg[44] = state.slotLocked(id) ? 0x00 : 0x01;
  }
  if (!tk.valid) return Status.EXECUTION_ERROR;
  msg.set(last, 64);
  const digest = createHash('sha256').update(msg).digest();
  tk.value.fill(0);
  tk.value.set(digest);
  tk.genDigData = zone === 2;
  tk.genKeyData = false;
  tk.keyId = zone === 2 ? id : 0;
  tk.noMacFlag = zone === 2 && noMac;
  return Status.SUCCESS;
};

