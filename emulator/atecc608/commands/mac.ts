/**
 * MAC (0x08) and the message it shares with CheckMac: SHA-256 over a key (slot param2 or
 * TempKey), a challenge (data or TempKey), opcode, mode, param2 and optional OTP / serial bytes
 * (cryptoauthlib atcah_mac and atcah_include_data). Mode bits: 0x01 challenge from TempKey,
 * 0x02 key from TempKey, 0x04 TempKey.SourceFlag to match, 0x10 OTP[0:10], 0x20 OTP[0:7],
 * 0x40 SN[2:3] and SN[4:7].
 */
import { createHash } from 'node:crypto';
import type { ChipState } from '../state.js';
import { Opcode, Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { useSlotKey } from './key-use.js';

/** Checks the TempKey rules shared by MAC and CheckMac; true when the command may use it. */
export function tempKeyUsable(state: ChipState, mode: number): boolean {
  const tk = state.tempKey;
  return tk.valid && !tk.noMacFlag && ((mode & 0x04) !== 0) === (tk.sourceFlag === 1);
}

/** Handles MAC. */
export const mac: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  if ((mode & ~0x77) !== 0) return Status.PARSE_ERROR;
  const challengeFromTempKey = (mode & 0x01) !== 0;
  const keyFromTempKey = (mode & 0x02) !== 0;
  if (cmd.data.length !== (challengeFromTempKey ? 0 : 32)) return Status.PARSE_ERROR;
  const slot = cmd.param2;
  if (slot > 15) return Status.PARSE_ERROR;
  if (!keyFromTempKey && state.keyConfig(slot).private) return Status.EXECUTION_ERROR;
  const usesTempKey = challengeFromTempKey || keyFromTempKey;
  if (usesTempKey && !tempKeyUsable(state, mode)) {
    state.tempKey.valid = false;
    return Status.EXECUTION_ERROR;
  }
  if (!keyFromTempKey && !useSlotKey(state, slot)) return Status.EXECUTION_ERROR;
  const sn = state.serialNumber();
  const m = new Uint8Array(88);
  m.set(keyFromTempKey ? state.tempKey.value.subarray(0, 32) : state.slots[slot]!.subarray(0, 32), 0);
  m.set(challengeFromTempKey ? state.tempKey.value.subarray(0, 32) : cmd.data, 32);
  m.set([Opcode.MAC, mode, slot & 0xff, slot >> 8], 64);
  if (mode & 0x10) m.set(state.otp.subarray(0, 11), 68);
  else if (mode & 0x20) m.set(state.otp.subarray(0, 8), 68);
  m[79] = sn[8]!;
  if (mode & 0x40) m.set(sn.subarray(4, 8), 80);
  m.set(sn.subarray(0, 2), 84);
  if (mode & 0x40) m.set(sn.subarray(2, 4), 86);
  state.tempKey.valid = false;
  return new Uint8Array(createHash('sha256').update(m).digest());
};
