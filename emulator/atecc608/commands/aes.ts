/**
 * AES (0x51): mode bits 0-2 the operation (0 encrypt, 1 decrypt, 3 GFM), bits 6-7 the 16-byte key
 * block within the key, bits 3-5 zero (cryptoauthlib AES_MODE_MASK 0xC7); param2 the key slot or
 * 0xFFFF for TempKey. Encrypt/decrypt take and return one 16-byte block (AES-128-ECB); GFM takes
 * H ‖ X (32 bytes), ignores param2 and returns X·H in GCM's field (calib_aes_gfm). The part must
 * have AES enabled (config byte 13 bit 0) and its config locked; a slot key must be KeyType 6
 * (AES) and the data zone locked, and passes the key-use rules (key-use.ts).
 */
import { aesDecryptBlock, aesEncryptBlock } from '../crypto/aes.js';
import { gfMultiply } from '../crypto/gfm.js';
import { Cfg, SLOT_SIZES } from '../state.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { useSlotKey } from './key-use.js';

const TEMPKEY_ID = 0xffff;

/** Handles AES. */
export const aes: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  const op = mode & 0x07;
  if ((mode & 0x38) !== 0 || (op !== 0 && op !== 1 && op !== 3)) return Status.PARSE_ERROR;
  if (cmd.data.length !== (op === 3 ? 32 : 16)) return Status.PARSE_ERROR;
  if ((state.config[Cfg.AES_ENABLE]! & 0x01) === 0 || !state.configLocked()) return Status.EXECUTION_ERROR;
  if (op === 3) return gfMultiply(cmd.data.subarray(0, 16), cmd.data.subarray(16, 32));
  const block = mode >> 6;
  const id = cmd.param2;
  let key: Uint8Array;
  if (id === TEMPKEY_ID) {
    if (!state.tempKey.valid) return Status.EXECUTION_ERROR;
    key = state.tempKey.value.subarray(block * 16, block * 16 + 16);
  } else {
    if (id > 15) return Status.PARSE_ERROR;
    const kc = state.keyConfig(id);
    // The key block must lie inside the slot (a 36-byte slot has blocks 0 and 1).
    if (kc.keyType !== 6 || kc.private || !state.dataLocked() || block * 16 + 16 > SLOT_SIZES[id]!) return Status.EXECUTION_ERROR;
    if (!useSlotKey(state, id)) return Status.EXECUTION_ERROR;
    key = state.slots[id]!.subarray(block * 16, block * 16 + 16);
  }
  return op === 0 ? aesEncryptBlock(key, cmd.data) : aesDecryptBlock(key, cmd.data);
};
