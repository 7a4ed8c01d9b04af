/**
 * Verify (0x45), mode bits 0-2 (cryptoauthlib VERIFY_MODE_*): 0x00 a signature against the public
 * key stored in slot param2 (72-byte padded form); 0x02 External, against the public key in the
 * data (param2 = key type 4, P-256); 0x03 Validate / 0x07 Invalidate the PubInfo key in slot
 * param2 with its parent's signature and 19 OtherData bytes (validate.ts); 0x01 ValidateExternal,
 * the same with the parent's public key given in the data. Bit 5 takes the message from the
 * message-digest buffer instead of TempKey. Bit 7 (Stored and External only, Microchip's data
 * sheets: "MAC outputs can only be generated in External and Stored modes") returns, on success, a
 * 32-byte MAC over the IO protection key, the message, the system nonce (message-digest buffer
 * bytes 0-31 with a TempKey message, 32-63 with a buffer message), the signature and the command
 * (atcah_verify_mac). Answers 0x00 on a match, 0x01 on a miscompare.
 */
import { createHash } from 'node:crypto';
import { PubKeyValidation } from '../../../common/atecc-public-key.js';
import { isOnCurve, verifyDigest } from '../ecc.js';
import { ioProtectionKey } from '../crypto/io-protection.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { storedPublicKey } from './keys.js';
import { validate } from './validate.js';

/** Handles Verify. */
export const verify: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  const kind = mode & 0x07;
  const withMac = (mode & 0x80) !== 0;
  if ((mode & 0x58) !== 0) return Status.PARSE_ERROR;
  if (kind === 0x01 || kind === 0x03 || kind === 0x07) {
    if (withMac) return Status.PARSE_ERROR;
    return validate(state, kind, cmd.param2, cmd.data);
  }
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
  const fromBuffer = (mode & 0x20) !== 0;
  const mdb = state.msgDigestBuf;
  let io: Uint8Array | undefined;
  if (withMac) {
    io = ioProtectionKey(state);
    // The system nonce must be there: MDB[0:32] beside a TempKey message, MDB[32:64] beside an MDB one.
    if (!io || !mdb || (fromBuffer && mdb.length < 64)) return Status.EXECUTION_ERROR;
  }
  let digest: Uint8Array;
  if (fromBuffer) {
    if (!mdb) return Status.EXECUTION_ERROR;
    digest = mdb.subarray(0, 32);
  } else {
    if (!state.tempKey.valid) return Status.EXECUTION_ERROR;
    digest = state.tempKey.value.slice(0, 32);
    state.tempKey.valid = false;
  }
  const signature = cmd.data.subarray(0, 64);
  if (!verifyDigest(pub, digest, signature)) return Status.MISCOMPARE;
  if (!io) return Status.SUCCESS;
  const nonce = fromBuffer ? mdb!.subarray(32, 64) : mdb!.subarray(0, 32);
  const p2 = cmd.param2;
  return new Uint8Array(createHash('sha256').update(io).update(digest).update(nonce).update(signature).update(Uint8Array.of(0x45, mode, p2 & 0xff, p2 >> 8)).digest());
};
