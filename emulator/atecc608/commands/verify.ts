/**
 * Verify (0x45): mode 0x00 checks a signature against the public key stored in slot param2
 * (72-byte padded form), 0x02 against an external public key in the data (param2 = key type 4,
 * P-256); bit 5 takes the digest from the message-digest buffer instead of TempKey. Answers
 * 0x00 on a match, 0x01 on a miscompare. Validate/invalidate and MAC output are not modelled.
 */
import { createHash } from 'node:crypto';
import { PubKeyValidation } from '../../../common/atecc-public-key.js';
import { isOnCurve, verifyDigest } from '../ecc.js';
import { SLOT_SIZES, type ChipState } from '../state.js';
import { Opcode, Status, type CommandResult } from '../status.js';
import type { CommandHandler } from './context.js';
import { storedPublicKey } from './keys.js';

/** Handles Verify. */
export const verify: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  const kind = mode & 0x07;
  if ((mode & 0x58) !== 0) return Status.PARSE_ERROR;
  if (mode & 0x80) return Status.PARSE_ERROR; // MAC output: not modelled.
  if (kind === 0x01) return Status.EXECUTION_ERROR; // validate-external: not modelled.
  if (kind === 0x03 || kind === 0x07) return validate(state, cmd.param2, kind === 0x07, cmd.data);
  if (kind !== 0x00 && kind !== 0x02) return Status.PARSE_ERROR;
  const external = kind === 0x02;
  if (cmd.data.length !== (external ? 128 : 64)) return Status.PARSE_ERROR;
  let pub: Uint8Array;
  if (external) {
    // External mode uses no stored key, so it runs on an unlocked part as well (issue 14: the
    // chip allows it; cryptoauthlib's calib_verify_extern needs no configuration).
    if (cmd.param2 !== 0x0004) return Status.PARSE_ERROR;
    pub = cmd.data.subarray(64, 128);
    // A point off the curve is a bad input, not a failed signature: execution error, which
    // atcacert_verify_response_hw relies on to tell the two apart.
    if (!isOnCurve(pub)) return Status.EXECUTION_ERROR;
  } else {
    if (!state.configLocked()) return Status.EXECUTION_ERROR;
    const slot = cmd.param2;
    if (slot > 15) return Status.PARSE_ERROR;
    const kc = state.keyConfig(slot);
    // Stored verification needs a P-256 public key slot; with PubInfo set, only a validated key.
    if (kc.keyType !== 4 || kc.private || slot < 8) return Status.EXECUTION_ERROR;
    if (kc.pubInfo && state.slots[slot]![0]! >> 4 !== PubKeyValidation.VALID) return Status.EXECUTION_ERROR;
    pub = storedPublicKey(state, slot);
  }
  let digest: Uint8Array;
  if (mode & 0x20) {
    if (!state.msgDigestBuf) return Status.EXECUTION_ERROR;
    digest = state.msgDigestBuf.subarray(0, 32);
  } else {
    if (!state.tempKey.valid) return Status.EXECUTION_ERROR;
    digest = state.tempKey.value.subarray(0, 32);
    state.tempKey.valid = false;
  }
  return verifyDigest(pub, digest, cmd.data.subarray(0, 64)) ? Status.SUCCESS : Status.MISCOMPARE;
};

/** Verify(Validate) and Verify(Invalidate) of the public key in `slot`. */
function validate(state: ChipState, slot: number, invalidate: boolean, data: Uint8Array): CommandResult {
  if (data.length !== 83 || slot > 15) return Status.PARSE_ERROR;
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  const kc = state.keyConfig(slot);
  if (kc.keyType !== 4 || kc.private || !kc.pubInfo || SLOT_SIZES[slot]! < 72) return Status.EXECUTION_ERROR;
  const tk = state.tempKey;
  // TempKey must hold the GenKey (mode 0x10) digest of this very slot's key.
  if (!tk.valid || !tk.genKeyData || tk.keyId !== slot) return Status.EXECUTION_ERROR;
  const other = data.subarray(64, 83);
  // OtherData[17] bit 0 states the intent and must agree with the mode.
  if ((other[17]! & 0x01) !== (invalidate ? 1 : 0)) return Status.EXECUTION_ERROR;
  const parent = state.slotConfig(slot).readKey;
  const pk = state.keyConfig(parent);
  if (pk.keyType !== 4 || pk.private || SLOT_SIZES[parent]! < 72) return Status.EXECUTION_ERROR;
  const sn = state.serialNumber();
  const digest = createHash('sha256')
    .update(tk.value.subarray(0, 32))
    .update(Uint8Array.of(Opcode.SIGN))
    .update(other.subarray(0, 10))
    .update(Uint8Array.of(sn[8]!))
    .update(other.subarray(10, 14))
    .update(sn.subarray(0, 2))
    .update(other.subarray(14, 19))
    .digest();
  tk.valid = false;
  if (!verifyDigest(storedPublicKey(state, parent), digest, data.subarray(0, 64))) return Status.MISCOMPARE;
  const b0 = state.slots[slot]![0]!;
  state.slots[slot]![0] = (b0 & 0x0f) | ((invalidate ? PubKeyValidation.INVALID : PubKeyValidation.VALID) << 4);
  return Status.SUCCESS;
}
