/**
 * The device's non-volatile writes: the chip image (the chip's EEPROM, where the counter lives)
 * and the device-state file (its flash), each written atomically (temp file + rename) and
 * synchronously, as firmware writes flash: the write is done before the next step starts, and
 * it costs one pass of the event loop rather than one per file operation, which matters when a
 * fleet of devices shares one process.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Atecc608Chip } from '../emulator/atecc608/chip.js';
import { chipImage } from '../emulator/atecc608/image.js';
import type { Se050Chip } from '../emulator/se050/chip.js';
import { se050Image } from '../emulator/se050/image.js';

/** Writes `text` to `file` atomically, readable by its owner only. */
export function writeFileAtomicSync(file: string, text: string): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file was never made
    }
    throw err;
  }
}

/** Persists the chip's state to its image file, in the emulator's image format (loadChipImage reads it). */
export function persistChip(chip: Atecc608Chip, file: string): void {
  writeFileAtomicSync(file, JSON.stringify(chipImage(chip), null, 2) + '\n');
}

/** Persists an SE050's state to its image file, in the emulator's image format (loadSe050Image reads it). */
export function persistSe050(chip: Se050Chip, file: string): void {
  writeFileAtomicSync(file, JSON.stringify(se050Image(chip), null, 2) + '\n');
}
