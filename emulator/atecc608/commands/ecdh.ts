/**
 * ECDH (0x43): P-256 shared secret between the private key in slot param2 and the public key in
 * the data. Mode 0x00 (compatibility) returns it in clear unless SlotConfig.ReadKey bit 3 sends it
 * to slot param2|1; mode 0x0C returns it in clear from the output buffer. Encrypted output and a
 * TempKey source are not modelled (execution error). ChipOptions.ECDHProt (bits 8-9) must allow
 * clear output.
 */
import { ecdhSecret, isOnCurve } from '../ecc.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { loadKey } from './keys.js';

const CHIP_OPTIONS = 90;

/** Handles ECDH. */
export const ecdh: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  if ((mode & 0xf0) !== 0 || cmd.data.length !== 64) return Status.PARSE_ERROR;
  const slot = cmd.param2;
  if (slot > 15) return Status.PARSE_ERROR;
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  const copy = mode & 0x0c;
  if ((mode & 0x03) !== 0 || (copy !== 0x00 && copy !== 0x0c)) return Status.EXECUTION_ERROR;
  // SlotConfig.ReadKey bit 2: ECDH allowed with this private key.
  const readKey = state.slotConfig(slot).readKey;
  if (!state.isEccPrivate(slot) || (readKey & 0x04) === 0) return Status.EXECUTION_ERROR;
  const toSlot = copy === 0x00 && (readKey & 0x08) !== 0;
  const ecdhProt = state.config[CHIP_OPTIONS + 1]! & 0x03;
  if (!toSlot && ecdhProt !== 0) return Status.EXECUTION_ERROR;
  if (!isOnCurve(cmd.data)) return Status.EXECUTION_ERROR;
  const key = loadKey(state, slot);
  if (!key) return Status.ECC_FAULT;
  const secret = ecdhSecret(key, cmd.data);
  if (toSlot) {
    const target = slot | 1;
    state.slots[target]!.set(secret, 0);
    state.keyCache.delete(target);
    return Status.SUCCESS;
  }
  return secret;
};
