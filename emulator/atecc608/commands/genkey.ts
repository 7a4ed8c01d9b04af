/**
 * GenKey (0x40): mode 0x04 creates a P-256 private key in slot param2 and returns its public key
 * X‖Y; 0x00 recomputes the public key; bit 3 (0x08) also folds the public key into a digest in
 * TempKey for key-origin attestation; 0x10 digests a stored public key with 3 OtherData bytes
 * (datasheet §"GenKey"; cryptoauthlib calib_genkey.c, atcah_gen_key_msg). KeyID 0xFFFF
 * (GENKEY_PRIVATE_TO_TEMPKEY) makes an ephemeral key in TempKey for ECDH with a TempKey source:
 * mode 0x04 creates it, 0x00 recomputes its public key; no digest modes.
 */
import { createHash } from 'node:crypto';
import { keyFromScalar, randomScalar } from '../ecc.js';
import { invalidTempKey, SLOT_SIZES, type ChipState } from '../state.js';
import { Opcode, Status, type CommandResult } from '../status.js';
import type { CommandHandler } from './context.js';
import { loadKey, storedPublicKey } from './keys.js';

/** Handles GenKey. */
export const genkey: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  // GENKEY_MODE_MASK 0x1C: bits 0-1 and 5-7 must be 0 (the 608's MAC-output bit is not modelled).
  if ((mode & ~0x1c) !== 0) return Status.PARSE_ERROR;
  const create = (mode & 0x04) !== 0;
  const digest = (mode & 0x08) !== 0;
  const pubDigest = (mode & 0x10) !== 0;
  if (cmd.data.length !== (pubDigest ? 3 : 0)) return Status.PARSE_ERROR;
  const slot = cmd.param2;
  if (slot === TEMPKEY_ID) return tempKeyPair(state, mode);
  if (slot > 15) return Status.PARSE_ERROR;
  // ECC commands refuse to run on an unconfigured chip.
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  if (pubDigest) return pubKeyDigest(state, slot, cmd.data);
  // GenKey works only on slots configured as P-256 private keys (KeyType 4, Private 1): a
  // KeyType 7 slot answers 0x0F for ever once the config is locked.
  if (!state.isEccPrivate(slot)) return Status.EXECUTION_ERROR;
  if (digest && !state.tempKey.valid) return Status.EXECUTION_ERROR;

  let pub: Uint8Array;
  if (create) {
    // After data lock, WriteConfig bit 1 (SlotConfig bit 13) must allow GenKey and the slot must be unlocked.
    if (state.dataLocked() && ((state.slotConfig(slot).writeConfig & 0x02) === 0 || state.slotLocked(slot))) {
      return Status.EXECUTION_ERROR;
    }
    const d = slot === 0 && state.cloneScalar ? state.cloneScalar : randomScalar();
    const key = keyFromScalar(d);
    state.storePrivateKey(slot, d, key);
    pub = key.publicKey;
  } else {
    const key = loadKey(state, slot);
    if (!key) return Status.ECC_FAULT;
    pub = key.publicKey;
  }
  if (digest) foldIntoTempKey(state, slot, pub, Uint8Array.of(mode, slot & 0xff, slot >> 8));
  return pub.slice();
};

const TEMPKEY_ID = 0xffff;

/**
 * A private key in TempKey: created (0x04) or its public key recomputed (0x00). TempKey then holds
 * no readable value (valid stays false), only the key ECDH may use.
 */
function tempKeyPair(state: ChipState, mode: number): CommandResult {
  if (mode !== 0x04 && mode !== 0x00) return Status.PARSE_ERROR;
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  if (mode === 0x00) return state.tempKey.privateKey ? state.tempKey.privateKey.publicKey.slice() : Status.EXECUTION_ERROR;
  const tk = invalidTempKey();
  tk.privateKey = keyFromScalar(randomScalar());
  state.tempKey = tk;
  return tk.privateKey.publicKey.slice();
}

/**
 * Mode 0x10: digest of the public key stored in slot `slot` (72-byte padded form), with the three
 * OtherData bytes in place of mode and KeyID; answers a status, no key.
 */
function pubKeyDigest(state: ChipState, slot: number, otherData: Uint8Array): CommandResult {
  const kc = state.keyConfig(slot);
  if (kc.keyType !== 4 || kc.private || SLOT_SIZES[slot]! < 72 || !state.tempKey.valid) return Status.EXECUTION_ERROR;
  foldIntoTempKey(state, slot, storedPublicKey(state, slot), otherData);
  return Status.SUCCESS;
}

/**
 * TempKey = SHA-256(TempKey ‖ 0x40 ‖ 3 bytes (mode, KeyID LE, or OtherData) ‖ SN[8] ‖ SN[0:1] ‖
 * 25 zeros ‖ X ‖ Y), the 128-byte message of cryptoauthlib's atcah_gen_key_msg; marks GenKeyData.
 */
function foldIntoTempKey(state: ChipState, slot: number, pub: Uint8Array, three: Uint8Array): void {
  const sn = state.serialNumber();
  const msg = new Uint8Array(128);
  msg.set(state.tempKey.value.subarray(0, 32), 0);
  msg[32] = Opcode.GENKEY;
  msg.set(three, 33);
  msg.set([sn[8]!, sn[0]!, sn[1]!], 36);
  msg.set(pub, 64);
  const tk = state.tempKey;
  tk.value.fill(0);
  tk.value.set(createHash('sha256').update(msg).digest());
  tk.genKeyData = true;
  tk.genDigData = false;
  tk.keyId = slot;
}
