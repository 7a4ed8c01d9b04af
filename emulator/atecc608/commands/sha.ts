/**
 * SHA (0x47), modes in bits 0-2 (cryptoauthlib calib_command.h SHA_MODE_*): 0x00 start; 0x01
 * update with 0-64 bytes (param2 = length; the engine buffers a partial block as the 608 does,
 * cryptoauthlib's sha_context test sends 5 bytes); 0x02 end with 0-64 bytes, returning the digest
 * and, by bits 6-7, also putting it in TempKey (0x00) or the message-digest buffer (0x40), 0xC0
 * output only; 0x03 adds the 64-byte public key stored in slot param2; 0x04 starts an HMAC keyed by
 * slot param2 or TempKey (0xFFFF), ended by 0x02 (608) or 0x05; 0x06 reads the SHA-256 context out,
 * 0x07 writes one back (param2 = its length; layout in crypto/sha256.ts). An HMAC's context cannot
 * be read (it holds the key). The context is volatile: sleep loses it.
 */
import { STORED_PUBLIC_KEY_BYTES, unpadPublicKey } from '../../../common/atecc-public-key.js';
import { Sha256 } from '../crypto/sha256.js';
import { inputTempKey, SLOT_SIZES, type ChipState } from '../state.js';
import { Status, type CommandResult } from '../status.js';
import type { CommandHandler } from './context.js';
import { useSlotKey } from './key-use.js';

const TEMPKEY_ID = 0xffff;

/** Handles SHA. */
export const sha: CommandHandler = ({ state }, cmd) => {
  const op = cmd.param1 & 0x07;
  const target = cmd.param1 & 0xc0;
  if ((cmd.param1 & 0x38) !== 0 || target === 0x80) return Status.PARSE_ERROR;
  // Only End places a digest: a target on any other mode is a malformed command.
  if (target !== 0 && op !== 0x02 && op !== 0x05) return Status.PARSE_ERROR;
  const data = cmd.data;
  switch (op) {
    case 0x00:
      if (data.length !== 0) return Status.PARSE_ERROR;
      state.sha = { hash: new Sha256() };
      return Status.SUCCESS;
    case 0x04:
      if (data.length !== 0) return Status.PARSE_ERROR;
      return hmacStart(state, cmd.param2);
    case 0x01:
      if (data.length > 64 || cmd.param2 !== data.length) return Status.PARSE_ERROR;
      if (!state.sha) return Status.EXECUTION_ERROR;
      state.sha.hash.update(data);
      return Status.SUCCESS;
    case 0x03:
      return addPublicKey(state, cmd.param2, data.length);
    case 0x02:
    case 0x05:
      if (data.length > 64 || cmd.param2 !== data.length) return Status.PARSE_ERROR;
      if (!state.sha || (op === 0x05 && !state.sha.hmacKey)) return Status.EXECUTION_ERROR;
      return end(state, target, data);
    case 0x06:
      if (data.length !== 0 || cmd.param2 !== 0) return Status.PARSE_ERROR;
      if (!state.sha || state.sha.hmacKey) return Status.EXECUTION_ERROR;
      return state.sha.hash.context();
    default: {
      // 0x07: restore a context read out earlier.
      if (cmd.param2 !== data.length) return Status.PARSE_ERROR;
      const hash = Sha256.fromContext(data);
      if (!hash) return Status.PARSE_ERROR;
      state.sha = { hash };
      return Status.SUCCESS;
    }
  }
};

/** HMAC start: the key is slot `id`'s first 32 bytes or TempKey (0xFFFF); a private key never. */
function hmacStart(state: ChipState, id: number): CommandResult {
  let key: Uint8Array;
  if (id === TEMPKEY_ID) {
    if (!state.tempKey.valid) return Status.EXECUTION_ERROR;
    key = state.tempKey.value.slice(0, 32);
  } else {
    if (id > 15) return Status.PARSE_ERROR;
    if (state.keyConfig(id).private || !useSlotKey(state, id)) return Status.EXECUTION_ERROR;
    key = state.slots[id]!.slice(0, 32);
  }
  // HMAC-SHA256 with a 32-byte key (RFC 2104): the inner hash starts with K ⊕ ipad.
  const pad = new Uint8Array(64).fill(0x36);
  for (let i = 0; i < 32; i++) pad[i] = key[i]! ^ 0x36;
  state.sha = { hash: new Sha256().update(pad), hmacKey: key };
  return Status.SUCCESS;
}

/** Public mode: X‖Y of the P-256 public key stored in slot `slot` joins the message. */
function addPublicKey(state: ChipState, slot: number, dataLength: number): CommandResult {
  if (dataLength !== 0 || slot > 15) return Status.PARSE_ERROR;
  if (!state.sha || state.sha.hmacKey) return Status.EXECUTION_ERROR;
  const kc = state.keyConfig(slot);
  if (kc.keyType !== 4 || kc.private || SLOT_SIZES[slot]! < STORED_PUBLIC_KEY_BYTES) return Status.EXECUTION_ERROR;
  state.sha.hash.update(unpadPublicKey(state.slots[slot]!.subarray(0, STORED_PUBLIC_KEY_BYTES)));
  return Status.SUCCESS;
}

/** End: finishes the hash (or HMAC), places the digest by `target` and returns it. */
function end(state: ChipState, target: number, data: Uint8Array): CommandResult {
  const ctx = state.sha!;
  state.sha = undefined;
  let digest = ctx.hash.update(data).digest();
  if (ctx.hmacKey) {
    const pad = new Uint8Array(64).fill(0x5c);
    for (let i = 0; i < 32; i++) pad[i] = ctx.hmacKey[i]! ^ 0x5c;
    digest = new Sha256().update(pad).update(digest).digest();
  }
  if (target === 0x00) {
    state.tempKey = inputTempKey(digest);
  } else if (target === 0x40) {
    state.msgDigestBuf = digest.slice();
  }
  return digest;
}
