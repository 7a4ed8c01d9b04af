/**
 * The encrypted-write session shared by Write (param1 bit 6) and PrivWrite (mode 0x40): TempKey
 * must come from a random Nonce and a GenDig over the target slot's WriteKey, and the host's
 * input MAC is SHA-256(TempKey ‖ opcode ‖ param1 ‖ param2 LE ‖ SN[8] ‖ SN[0:1] ‖ zeros ‖
 * plaintext), with 25 zeros for Write and 21 for PrivWrite (cryptoauthlib atcah_write_auth_mac,
 * atcah_privwrite_auth_mac).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ChipState } from '../state.js';

/** True when TempKey is a session keyed by slot `writeKey` (GenDigData, KeyId, random SourceFlag, NoMacFlag clear). */
export function writeSessionReady(state: ChipState, writeKey: number): boolean {
  const tk = state.tempKey;
  return tk.valid && tk.genDigData && tk.keyId === writeKey && !tk.noMacFlag && tk.sourceFlag === 0;
}

/** True when `mac` is the input MAC of `plain` for this command under the session TempKey. */
export function inputMacMatches(state: ChipState, opcode: number, param1: number, param2: number, zeros: number, plain: Uint8Array, mac: Uint8Array): boolean {
  const sn = state.serialNumber();
  const expected = createHash('sha256')
    .update(state.tempKey.value.subarray(0, 32))
    .update(Uint8Array.of(opcode, param1, param2 & 0xff, param2 >> 8, sn[8]!, sn[0]!, sn[1]!))
    .update(new Uint8Array(zeros))
    .update(plain)
    .digest();
  return timingSafeEqual(expected, mac);
}
