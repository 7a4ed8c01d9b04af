/**
 * Info (0x30): mode 0x00 revision, 0x01 key valid, 0x02 device state, 0x04 the persistent latch
 * (datasheet §"Info command"; cryptoauthlib calib_info.c). Always 4 bytes of output.
 * Mode 0x04: param2 bit 1 set writes the latch from bit 0 (calib_info_set_latch), clear reads it
 * (calib_info_get_latch: byte 0 is 1 when set). Setting it needs VolatileKeyPermission enabled
 * (config byte 69 bit 7) and the key of its slot (bits 0-3) proved by a CheckMac since wake, the
 * sequence cryptoauthlib's volatile_key_permit test runs; clearing always works. The latch
 * survives sleep and is lost at power-down; keys with KeyConfig.PersistentDisable work only while
 * it is set (key-use.ts).
 */
import { PubKeyValidation } from '../../../common/atecc-public-key.js';
import { Cfg } from '../state.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { loadKey } from './keys.js';

/** Handles Info. */
export const info: CommandHandler = ({ state }, cmd) => {
  if (cmd.data.length !== 0) return Status.PARSE_ERROR;
  switch (cmd.param1) {
    case 0x00:
      // Same 4 bytes as RevNum in config bytes 4-7 (00 00 60 02 on a 608A, 00 00 60 03 on a 608B).
      return state.config.slice(Cfg.REVISION, Cfg.REVISION + 4);
    case 0x01: {
      const slot = cmd.param2;
      if (slot > 15) return Status.PARSE_ERROR;
      const kc = state.keyConfig(slot);
      // KeyValid is defined for ECC key slots only (KeyType 4).
      if (kc.keyType !== 4) return Status.EXECUTION_ERROR;
      let valid: boolean;
      if (kc.private) valid = loadKey(state, slot) !== undefined;
      // A public key with PubInfo is valid once Verify(Validate) marked it (top nibble of byte 0 = 0x5).
      else valid = !kc.pubInfo || state.slots[slot]![0]! >> 4 === PubKeyValidation.VALID;
      return Uint8Array.of(valid ? 1 : 0, 0, 0, 0);
    }
    case 0x02: {
      if (cmd.param2 !== 0) return Status.PARSE_ERROR;
      // Device state: TempKey.KeyId, SourceFlag, GenDigData, GenKeyData, NoMacFlag, Valid.
      const tk = state.tempKey;
      const lo = (tk.keyId & 0x0f) | (tk.sourceFlag << 4) | (tk.genDigData ? 0x20 : 0) | (tk.genKeyData ? 0x40 : 0) | (tk.noMacFlag ? 0x80 : 0);
      const hi = tk.valid ? 0x80 : 0;
      return Uint8Array.of(lo, hi, 0, 0);
    }
    case 0x04: {
      if ((cmd.param2 & ~0x03) !== 0) return Status.PARSE_ERROR;
      if (!state.configLocked()) return Status.EXECUTION_ERROR;
      if (cmd.param2 & 0x02) {
        const set = (cmd.param2 & 0x01) !== 0;
        const vkp = state.config[Cfg.VOLATILE_KEY_PERMISSION]!;
        if (set && ((vkp & 0x80) === 0 || state.authorizedSlot !== (vkp & 0x0f))) return Status.EXECUTION_ERROR;
        state.persistentLatch = set;
      }
      return Uint8Array.of(state.persistentLatch ? 1 : 0, 0, 0, 0);
    }
    default:
      return Status.PARSE_ERROR;
  }
};
