/**
 * A directory of chip images, one file per chip named by its serial (`0123…EE.json`): loads them
 * all, tops the set up with blank parts, and saves a chip after each command that changed it.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Atecc608Chip, ChipOptions } from './atecc608/chip.js';
import { createBlankChip } from './atecc608/factory.js';
import { loadChipImage, saveChipImage } from './atecc608/image.js';
import { Opcode } from '../secure-element/opcodes.js';

/** A chip and the file it lives in. */
export interface StoredChip {
  chip: Atecc608Chip;
  file: string;
}

/** The file name of a chip: its serial in upper-case hex. */
export function chipFileName(chip: Atecc608Chip): string {
  return `${Buffer.from(chip.serialNumber).toString('hex').toUpperCase()}.json`;
}

/** Loads every `*.json` image in `dir` (sorted by name, so indices are stable) and creates blank chips until there are `count`. */
export async function openChipDir(dir: string, count: number, opts: ChipOptions = {}): Promise<StoredChip[]> {
  await mkdir(dir, { recursive: true });
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const out: StoredChip[] = [];
  for (const n of names) out.push({ chip: await loadChipImage(join(dir, n), opts), file: join(dir, n) });
  while (out.length < count) {
    const chip = createBlankChip(opts);
    const file = join(dir, chipFileName(chip));
    await saveChipImage(chip, file);
    out.push({ chip, file });
  }
  return out;
}

/**
 * True when a command frame may have changed a chip's persistent state: Write, Lock, GenKey
 * create, Counter increment, PrivWrite, UpdateExtra, DeriveKey, KDF and SecureBoot (which may store
 * a key, digest or signature in a slot), and ECDH (which may store its result in a slot). The
 * commands that use a slot key (Sign, MAC, CheckMac, GenDig, AES, SHA's HMAC) advance counter 0
 * when the key is a limited-use one, so they count too on a chip that has any (SlotConfig.LimitedUse).
 * Read, Nonce and the rest touch only volatile state, so they never cost a file write.
 */
export function changesPersistentState(frame: Uint8Array, chip?: Atecc608Chip): boolean {
  const opcode = frame[1];
  const mode = frame[2] ?? 0;
  switch (opcode) {
    case Opcode.WRITE:
    case Opcode.LOCK:
    case Opcode.PRIVWRITE:
    case Opcode.UPDATE_EXTRA:
    case Opcode.ECDH:
    case Opcode.DERIVE_KEY:
    case Opcode.KDF:
    case Opcode.SECUREBOOT:
      return true;
    case Opcode.GENKEY:
      return (mode & 0x04) !== 0;
    case Opcode.COUNTER:
      return (mode & 0x01) !== 0;
    case Opcode.SIGN:
    case Opcode.MAC:
    case Opcode.CHECKMAC:
    case Opcode.GENDIG:
    case Opcode.AES:
    case Opcode.SHA:
      return !chip || hasLimitedUseKey(chip);
    default:
      return false;
  }
}

function hasLimitedUseKey(chip: Atecc608Chip): boolean {
  for (let slot = 0; slot < 16; slot++) if (chip.state.slotConfig(slot).limitedUse) return true;
  return false;
}

/** Saves a stored chip (atomic write: temp file, then rename). */
export function saveStoredChip(s: StoredChip): Promise<void> {
  return saveChipImage(s.chip, s.file);
}
