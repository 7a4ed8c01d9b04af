/**
 * A directory of SE050 images, one `<UID>.json` per chip, beside the manufacturer root the
 * chips' attestation certificates chain to: loads them all, tops the set up with new parts.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppletVersionName } from '../../common/se05x/applet-constants.js';
import type { ManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import type { Se050Chip, Se050ChipOptions } from './chip.js';
import { createSe050Chip } from './factory.js';
import { loadSe050Image, saveSe050Image } from './image.js';

/** A chip and the file it lives in. */
export interface StoredSe050 {
  chip: Se050Chip;
  file: string;
}

/** The file name of a chip: its unique id in upper-case hex. */
export function se050FileName(chip: Se050Chip): string {
  return `${Buffer.from(chip.uid).toString('hex').toUpperCase()}.json`;
}

/**
 * Loads every `*.json` chip image in `dir` (sorted, so indices are stable) and creates new parts
 * of `applet` until there are `count`. Images of the other applet version are loaded as they are.
 */
export async function openSe050Dir(dir: string, count: number, root: ManufacturerRoot, applet: AppletVersionName, opts: Se050ChipOptions = {}): Promise<StoredSe050[]> {
  await mkdir(dir, { recursive: true });
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const out: StoredSe050[] = [];
  for (const n of names) out.push({ chip: await loadSe050Image(join(dir, n), opts), file: join(dir, n) });
  while (out.length < count) {
    const chip = await createSe050Chip({ ...opts, root, applet });
    const file = join(dir, se050FileName(chip));
    await saveSe050Image(chip, file);
    out.push({ chip, file });
  }
  return out;
}
