/**
 * Verify's key-validation modes, on the PubInfo public key in slot param2 (Microchip's
 * "Verify - Validate and Invalidate"; cryptoauthlib calib_verify_validate / _invalidate): TempKey
 * must hold the GenKey (mode 0x10) digest of that very slot's key.
 * - 0x03 Validate / 0x07 Invalidate: data = signature ‖ 19 OtherData bytes; the signed message is
 *   Sign-internal's, SHA-256(TempKey ‖ 0x41 ‖ OtherData[0:10] ‖ SN[8] ‖ OtherData[10:14] ‖ SN[0:1]
 *   ‖ OtherData[14:19]) (atcah_verify_mac / atcah_sign_internal_msg); the parent key is the stored
 *   key in the slot named by the child's SlotConfig.ReadKey; OtherData[17] bit 0 must match the mode.
 * - 0x01 ValidateExternal: data = signature ‖ the parent's public key (count 135, atVerify); with
 *   no OtherData the signed message is TempKey itself. cryptoauthlib documents only the frame
 *   ("KeyID: the slot containing the public key to be validated"): this message is the model's
 *   reading, noted in secure-element/SLOT-MAP.md.
 * On success the top nibble of the slot's byte 0 becomes 0x5 (valid) or 0xA (invalid).
 */
import { createHash } from 'node:crypto';
import { PubKeyValidation } from '../../../common/atecc-public-key.js';
import { isOnCurve, verifyDigest } from '../ecc.js';
import { SLOT_SIZES, type ChipState } from '../state.js';
import { Opcode, Status, type CommandResult } from '../status.js';
import { storedPublicKey } from './keys.js';

/** Verify modes 0x01, 0x03 and 0x07 on `slot`. */
export function validate(state: ChipState, kind: number, slot: number, data: Uint8Array): CommandResult {
  const external = kind === 0x01;
  if (data.length !== (external ? 128 : 83) || slot > 15) return Status.PARSE_ERROR;
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  const kc = state.keyConfig(slot);
  if (kc.keyType !== 4 || kc.private || !kc.pubInfo || SLOT_SIZES[slot]! < 72) return Status.EXECUTION_ERROR;
  const tk = state.tempKey;
  // TempKey must hold the GenKey (mode 0x10) digest of this very slot's key.
  if (!tk.valid || !tk.genKeyData || tk.keyId !== slot) return Status.EXECUTION_ERROR;
  const invalidate = kind === 0x07;
  let parentKey: Uint8Array;
  let digest: Uint8Array;
  if (external) {
    parentKey = data.subarray(64, 128);
    if (!isOnCurve(parentKey)) return Status.EXECUTION_ERROR;
    digest = tk.value.slice(0, 32);
  } else {
    const other = data.subarray(64, 83);
    // OtherData[17] bit 0 states the intent and must agree with the mode.
    if ((other[17]! & 0x01) !== (invalidate ? 1 : 0)) return Status.EXECUTION_ERROR;
    const parent = state.slotConfig(slot).readKey;
    const pk = state.keyConfig(parent);
    if (pk.keyType !== 4 || pk.private || SLOT_SIZES[parent]! < 72) return Status.EXECUTION_ERROR;
    parentKey = storedPublicKey(state, parent);
    const sn = state.serialNumber();
    digest = new Uint8Array(
      createHash('sha256')
        .update(tk.value.subarray(0, 32))
        .update(Uint8Array.of(Opcode.SIGN))
        .update(other.subarray(0, 10))
        .update(Uint8Array.of(sn[8]!))
        .update(other.subarray(10, 14))
        .update(sn.subarray(0, 2))
        .update(other.subarray(14, 19))
        .digest(),
    );
  }
  tk.valid = false;
  if (!verifyDigest(parentKey, digest, data.subarray(0, 64))) return Status.MISCOMPARE;
  const b0 = state.slots[slot]![0]!;
  state.slots[slot]![0] = (b0 & 0x0f) | ((invalidate ? PubKeyValidation.INVALID : PubKeyValidation.VALID) << 4);
  return Status.SUCCESS;
}
