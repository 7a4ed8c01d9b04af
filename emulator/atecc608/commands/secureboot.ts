/**
 * SecureBoot (0x80): verifies a host firmware digest (cryptoauthlib calib_secureboot and
 * calib_secureboot_mac; SECUREBOOT_* in calib_command.h; Microchip's ATECC608B secure boot notes).
 * Mode bits 0-2: 0x05 Full (digest ‖ signature, checked with the public key in slot
 * SecureBootPubKey), 0x06 FullStore (digest only, compared with the stored digest, or checked with
 * the stored signature), 0x07 FullCopy (as Full, then the digest or signature is stored); bit 6
 * prohibits SecureBoot until power-down; bit 7 sends the digest encrypted with the IO protection
 * key and TempKey and returns a validating MAC. Param2 is 0.
 * SecureBootConfig (config bytes 70-71): bits 0-1 the mode (0 disabled, 1 FullBoth: both always
 * sent, 2 FullSig: signature stored, 3 FullDig: digest stored), bits 8-11 the slot holding the
 * stored digest or signature, bits 12-15 the public-key slot (72-byte stored format).
 * A digest or signature that does not verify answers 0x01.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { PubKeyValidation } from '../../../common/atecc-public-key.js';
import { verifyDigest } from '../ecc.js';
import { ioProtectionKey } from '../crypto/io-protection.js';
import { Cfg } from '../state.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { storedPublicKey } from './keys.js';

const FULL = 0x05;
const FULL_STORE = 0x06;
const FULL_COPY = 0x07;
const FULL_SIG = 2;
const FULL_DIG = 3;

/** Handles SecureBoot. */
export const secureboot: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  const kind = mode & 0x07;
  if ((mode & 0x38) !== 0 || kind < FULL || cmd.param2 !== 0) return Status.PARSE_ERROR;
  if (cmd.data.length !== (kind === FULL_STORE ? 32 : 96)) return Status.PARSE_ERROR;
  const cfg = state.config[Cfg.SECURE_BOOT]! | (state.config[Cfg.SECURE_BOOT + 1]! << 8);
  const sbMode = cfg & 0x03;
  if (!state.dataLocked() || sbMode === 0 || state.secureBootProhibited) return Status.EXECUTION_ERROR;
  if (kind === FULL_STORE && sbMode !== FULL_SIG && sbMode !== FULL_DIG) return Status.EXECUTION_ERROR;
  const store = state.slots[(cfg >> 8) & 0x0f]!;
  const pubSlot = (cfg >> 12) & 0x0f;
  const pk = state.keyConfig(pubSlot);
  if (pk.keyType !== 4 || pk.private || pubSlot < 8) return Status.EXECUTION_ERROR;
  if (pk.pubInfo && state.slots[pubSlot]![0]! >> 4 !== PubKeyValidation.VALID) return Status.EXECUTION_ERROR;

  let digest = cmd.data.slice(0, 32);
  let hashedKey: Uint8Array | undefined;
  if (mode & 0x80) {
    // Encrypted digest: the key is SHA-256(IOkey ‖ TempKey) (atcah_secureboot_enc).
    const io = ioProtectionKey(state);
    const tk = state.tempKey;
    if (!io || !tk.valid) return Status.EXECUTION_ERROR;
    hashedKey = new Uint8Array(createHash('sha256').update(io).update(tk.value.subarray(0, 32)).digest());
    digest = digest.map((b, i) => b ^ hashedKey![i]!);
    tk.valid = false;
  }
  if (mode & 0x40) state.secureBootProhibited = true;

  let signature: Uint8Array | undefined = kind === FULL_STORE ? undefined : cmd.data.subarray(32, 96);
  let ok: boolean;
  if (kind === FULL_STORE && sbMode === FULL_DIG) {
    ok = timingSafeEqual(store.subarray(0, 32), digest);
  } else {
    signature ??= store.subarray(0, 64);
    ok = verifyDigest(storedPublicKey(state, pubSlot), digest, signature);
  }
  if (!ok) return Status.MISCOMPARE;
  if (kind === FULL_COPY && sbMode === FULL_DIG) store.set(digest, 0);
  if (kind === FULL_COPY) state.keyCache.delete((cfg >> 8) & 0x0f);
  if (kind === FULL_COPY && sbMode === FULL_SIG) store.set(signature!, 0);
  if (!hashedKey) return Status.SUCCESS;
  // Validating MAC (atcah_secureboot_mac): the signature is left out only for FullStore with FullDig.
  const mac = createHash('sha256').update(hashedKey).update(digest);
  if (!(kind === FULL_STORE && sbMode === FULL_DIG)) mac.update(signature!);
  return new Uint8Array(mac.update(Uint8Array.of(0x80, mode, 0, 0)).digest());
};
