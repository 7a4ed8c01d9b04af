/**
 * Write (0x12): 4 or 32 bytes into config (before config lock), OTP (before data lock) or a data
 * slot (before data lock freely, after it as WriteConfig allows). Before data lock only 32-byte
 * writes reach the data and OTP zones (cryptoauthlib calib_write_bytes_zone: "If data zone is
 * unlocked, only 32-byte writes are allowed to slots and OTP").
 * Encrypted Write (param1 bit 6, calib_write_enc): 32 bytes of ciphertext then a 32-byte MAC, to
 * any non-private slot before data lock (bit 6 alone decides then, cryptoauthlib's
 * write_enc_data_unlock test) and to a slot whose WriteConfig is Encrypt (0b x1xx) after it; the
 * session key is the slot's WriteKey either way. TempKey must come from a random
 * Nonce and a GenDig over the slot's WriteKey; plaintext = data XOR TempKey; MAC = SHA-256(TempKey
 * ‖ 0x12 ‖ param1 ‖ param2 LE ‖ SN[8] ‖ SN[0:1] ‖ 25 zeros ‖ plaintext) (atcah_write_auth_mac). A
 * wrong MAC answers 0x01 and writes nothing. 4-byte encrypted writes are refused (0x0F): no public
 * source gives their MAC message.
 */
import { PubKeyValidation } from '../../../common/atecc-public-key.js';
import { Cfg, type ChipState } from '../state.js';
import { Status, type CommandResult } from '../status.js';
import { decodeAddress, type ZoneAddress } from './address.js';
import type { CommandHandler } from './context.js';
import { inputMacMatches, writeSessionReady } from './input-mac.js';

/** Handles Write. */
export const write: CommandHandler = ({ state }, cmd) => {
  if ((cmd.param1 & 0x3c) !== 0) return Status.PARSE_ERROR;
  const encrypted = (cmd.param1 & 0x40) !== 0;
  // A 32-byte write may cover a slot's short last block; the bytes past the slot's end are dropped.
  const a = decodeAddress(cmd.param1 & 0x83, cmd.param2);
  if (!a) return Status.PARSE_ERROR;
  if (cmd.data.length !== a.length + (encrypted ? 32 : 0)) return Status.PARSE_ERROR;
  let value = cmd.data.subarray(0, a.length);

  if (a.zone === 0) {
    if (state.configLocked() || encrypted) return Status.EXECUTION_ERROR;
    // Bytes 0-15 (serial, revision, AES/I2C enables) are factory-set; bytes 84-87 change only by
    // UpdateExtra and Lock. A write touching either range is refused rather than half applied.
    const end = a.offset + a.length;
    if (a.offset < 16) return Status.EXECUTION_ERROR;
    if (a.offset < Cfg.LOCK_CONFIG + 1 && end > Cfg.USER_EXTRA) return Status.EXECUTION_ERROR;
    state.config.set(value, a.offset);
    return Status.SUCCESS;
  }
  // Data and OTP zones are written only once the configuration is fixed, and in whole blocks until data lock.
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  if (!state.dataLocked() && a.length !== 32) return Status.EXECUTION_ERROR;
  if (a.zone === 1) {
    // The 608 has no OTP consumption mode: OTP is read-only after data lock.
    if (state.dataLocked() || encrypted) return Status.EXECUTION_ERROR;
    state.otp.set(value, a.offset);
    return Status.SUCCESS;
  }
  // Private keys enter a slot only through GenKey or PrivWrite, never Write.
  if (state.keyConfig(a.slot).private) return Status.EXECUTION_ERROR;
  if (state.dataLocked()) {
    if (state.slotLocked(a.slot)) return Status.EXECUTION_ERROR;
    const wc = state.slotConfig(a.slot).writeConfig;
    // WriteConfig 0000 = Always (clear); 0001 PubInvalid: writable only while the stored public key
    // is invalidated (byte 0 top nibble 0xA); 001x/10xx Never; x1xx Encrypt.
    const encrypt = (wc & 0x4) !== 0 && (wc & 0xc) !== 0x8;
    if (encrypted && !encrypt) return Status.EXECUTION_ERROR;
    if (!encrypted) {
      const pubInvalid = wc === 0x1 && state.keyConfig(a.slot).pubInfo && state.slots[a.slot]![0]! >> 4 === PubKeyValidation.INVALID;
      if (wc !== 0 && !pubInvalid) return Status.EXECUTION_ERROR;
    }
  }
  // Before data lock, bit 6 alone decides whether the data comes encrypted (cryptoauthlib's
  // write_enc_data_unlock test); after it, WriteConfig must say Encrypt (checked above).
  if (encrypted) {
    const plain = decryptWrite(state, cmd.param1, cmd.param2, a, cmd.data);
    if (typeof plain === 'number') return plain;
    value = plain;
  }
  const slotBytes = state.slots[a.slot]!;
  slotBytes.set(value.subarray(0, slotBytes.length - a.offset), a.offset);
  // A public key that Verify(Validate) must approve (PubInfo) is left invalidated by every Write,
  // whatever the top nibble of pad byte 0 was sent as (datasheet §"ECC Key Formatting").
  const kc = state.keyConfig(a.slot);
  if (kc.pubInfo && kc.keyType === 4) slotBytes[0] = (slotBytes[0]! & 0x0f) | (PubKeyValidation.INVALID << 4);
  state.keyCache.delete(a.slot);
  return Status.SUCCESS;
};

/** The plaintext of an encrypted Write, or the status refusing it. */
function decryptWrite(state: ChipState, param1: number, param2: number, a: ZoneAddress, data: Uint8Array): Uint8Array | CommandResult {
  if (a.length !== 32 || !writeSessionReady(state, state.slotConfig(a.slot).writeKey)) return Status.EXECUTION_ERROR;
  const tk = state.tempKey;
  const plain = data.slice(0, 32).map((b, i) => b ^ tk.value[i]!);
  const ok = inputMacMatches(state, 0x12, param1, param2, 25, plain, data.subarray(32, 64));
  tk.valid = false;
  return ok ? plain : Status.MISCOMPARE;
}
