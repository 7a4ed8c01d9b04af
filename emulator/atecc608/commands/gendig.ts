/**
 * GenDig (0x15): folds a key or a block of memory into TempKey: TempKey = SHA-256(value(32) ‖
 * 0x15 ‖ zone ‖ param2 LE ‖ SN[8] ‖ SN[0:1] ‖ 25 zeros ‖ TempKey(32)) (cryptoauthlib
 * atcah_gen_dig). Zones: 0 config block, 1 OTP block, 2 data slot key. Other zones are not modelled.
 */
import { createHash } from 'node:crypto';
import { Opcode, Status } from '../status.js';
import type { CommandHandler } from './context.js';

/** Handles GenDig. */
export const gendig: CommandHandler = ({ state }, cmd) => {
  const zone = cmd.param1;
  if (zone > 2 || cmd.data.length !== 0) return Status.PARSE_ERROR;
  const id = cmd.param2;
  let value: Uint8Array;
  if (zone === 0) {
    if (id > 3) return Status.PARSE_ERROR;
    value = state.config.subarray(id * 32, id * 32 + 32);
  } else if (zone === 1) {
    if (id > 1) return Status.PARSE_ERROR;
    value = state.otp.subarray(id * 32, id * 32 + 32);
  } else {
    if (id > 15) return Status.PARSE_ERROR;
    // A private key never feeds a digest.
    if (state.keyConfig(id).private) return Status.EXECUTION_ERROR;
    value = state.slots[id]!.subarray(0, 32);
  }
  const tk = state.tempKey;
  if (!tk.valid) return Status.EXECUTION_ERROR;
  const sn = state.serialNumber();
  const msg = new Uint8Array(96);
  msg.set(value, 0);
  msg.set([Opcode.GENDIG, zone, id & 0xff, id >> 8, sn[8]!, sn[0]!, sn[1]!], 32);
  msg.set(tk.value.subarray(0, 32), 64);
  tk.value.fill(0);
  tk.value.set(createHash('sha256').update(msg).digest());
  tk.genDigData = zone === 2;
  tk.genKeyData = false;
  tk.keyId = zone === 2 ? id : 0;
  tk.noMacFlag = zone === 2 && state.slotConfig(id).noMac;
  return Status.SUCCESS;
};
