/**
 * Info (0x30): mode 0x00 revision, 0x01 key valid, 0x02 device state (datasheet §"Info command";
 * cryptoauthlib calib_info.c). Always 4 bytes of output.
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
    default:
      return Status.PARSE_ERROR;
  }
};
