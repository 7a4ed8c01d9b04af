/**
 * Read (0x02): 4 or 32 bytes of config, OTP or a data slot, under the zone locks and the slot's
 * SlotConfig/KeyConfig (datasheet §"Read command", Table "Read access rules").
 */
import { Status } from '../status.js';
import { decodeAddress } from './address.js';
import type { CommandHandler } from './context.js';

/** Handles Read. */
export const read: CommandHandler = ({ state }, cmd) => {
  // Only the zone bits and the 32-byte bit exist in Read's param1.
  if (cmd.data.length !== 0 || (cmd.param1 & 0x7c) !== 0) return Status.PARSE_ERROR;
  const a = decodeAddress(cmd.param1, cmd.param2);
  if (!a) return Status.PARSE_ERROR;
  if (a.zone === 0) return state.config.slice(a.offset, a.offset + a.length);
  // Before the data zone is locked neither the data nor the OTP zone can be read.
  if (!state.dataLocked()) return Status.EXECUTION_ERROR;
  if (a.zone === 1) return state.otp.slice(a.offset, a.offset + a.length);

  const kc = state.keyConfig(a.slot);
  const sc = state.slotConfig(a.slot);
  // A private key never leaves the chip, whatever else the configuration says.
  if (kc.private) return Status.EXECUTION_ERROR;
  // A 32-byte read of a slot's short last block returns the bytes that exist, then zeros.
  const clear = new Uint8Array(a.length);
  clear.set(state.slots[a.slot]!.subarray(a.offset, a.offset + a.length));
  if (!sc.isSecret) return clear;
  if (!sc.encryptRead || a.length !== 32) return Status.EXECUTION_ERROR;
  // Encrypted read: output = data XOR TempKey, TempKey from a GenDig over ReadKey (§"Encrypted Read").
  const tk = state.tempKey;
  if (!tk.valid || !tk.genDigData || tk.keyId !== sc.readKey) return Status.EXECUTION_ERROR;
  const out = clear.map((b, i) => b ^ tk.value[i]!);
  state.tempKey.valid = false;
  return out;
};
