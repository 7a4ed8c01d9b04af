/**
 * ECDH (0x43): P-256 shared secret (X coordinate) between a private key and the public key in the
 * data (cryptoauthlib calib_ecdh_base and ECDH_MODE_*). Mode bit 0: the private key is in slot
 * param2 (0) or in TempKey from GenKey KeyID 0xFFFF (1); bit 1: output encrypted with the IO
 * protection key (32 bytes ‖ 32-byte OutNonce, crypto/io-protection.ts); bits 2-3: where the
 * secret goes: 0x00 compatibility (out, or to slot param2|1 when the key's SlotConfig.ReadKey bit 3
 * says so), 0x04 slot param2|1 (from a slot key; from a TempKey key not modelled: 0x0F), 0x08
 * TempKey, 0x0C out.
 * A slot key must be a P-256 private key with ReadKey bit 2 (ECDH allowed). ChipOptions.ECDHProt
 * (bits 8-9): 0 output in clear allowed, 1 only encrypted, 2 never out.
 */
import { randomBytes } from 'node:crypto';
import { ecdhSecret, isOnCurve, type EccKey } from '../ecc.js';
import { chipOptions, ioEncrypt, ioProtectionKey } from '../crypto/io-protection.js';
import { inputTempKey, type ChipState } from '../state.js';
import { Status, type CommandResult } from '../status.js';
import type { CommandHandler } from './context.js';
import { keyEnabled, useSlotKey } from './key-use.js';
import { loadKey } from './keys.js';

/** Handles ECDH. */
export const ecdh: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  if ((mode & 0xf0) !== 0 || cmd.data.length !== 64) return Status.PARSE_ERROR;
  const fromTempKey = (mode & 0x01) !== 0;
  const id = cmd.param2;
  if (!fromTempKey && id > 15) return Status.PARSE_ERROR;
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  let key: EccKey | undefined;
  let toSlot: number | undefined;
  const copy = mode & 0x0c;
  if (fromTempKey) {
    key = state.tempKey.privateKey;
    if (!key) return Status.EXECUTION_ERROR;
    if (copy === 0x04) return Status.EXECUTION_ERROR;
  } else {
    // SlotConfig.ReadKey bit 2: ECDH allowed with this private key; bit 3: result to slot|1.
    const readKey = state.slotConfig(id).readKey;
    if (!state.isEccPrivate(id) || (readKey & 0x04) === 0 || !keyEnabled(state, id)) return Status.EXECUTION_ERROR;
    if (copy === 0x04 || (copy === 0x00 && (readKey & 0x08) !== 0)) toSlot = id | 1;
    key = loadKey(state, id);
    if (!key) return Status.ECC_FAULT;
  }
  if (toSlot !== undefined && (toSlot > 15 || state.keyConfig(toSlot).private || state.slotLocked(toSlot))) return Status.EXECUTION_ERROR;
  const out = toSlot === undefined && copy !== 0x08;
  const encrypt = (mode & 0x02) !== 0;
  const prot = (chipOptions(state) >> 8) & 0x03;
  if (out && (prot === 2 || (prot === 1 && !encrypt))) return Status.EXECUTION_ERROR;
  const io = encrypt ? ioProtectionKey(state) : undefined;
  if (out && encrypt && !io) return Status.EXECUTION_ERROR;
  if (!isOnCurve(cmd.data)) return Status.EXECUTION_ERROR;
  if (!fromTempKey && !useSlotKey(state, id)) return Status.EXECUTION_ERROR;
  const secret = ecdhSecret(key, cmd.data);
  return deliver(state, secret, toSlot, copy === 0x08, io);
};

function deliver(state: ChipState, secret: Uint8Array, toSlot: number | undefined, toTempKey: boolean, io: Uint8Array | undefined): CommandResult {
  if (toSlot !== undefined) {
    state.slots[toSlot]!.set(secret, 0);
    state.keyCache.delete(toSlot);
    return Status.SUCCESS;
  }
  if (toTempKey) {
    state.tempKey = inputTempKey(secret);
    return Status.SUCCESS;
  }
  return io ? ioEncrypt(io, secret, new Uint8Array(randomBytes(32))) : secret;
}
