/**
 * A chip's persistent state as a file (the file is the chip): config, OTP and slot contents
 * (private keys included: it is an emulator; counters live in config bytes 52-67) and a pending
 * clone key, as JSON with hex
 * strings. Written atomically (temp file + rename) so a crash never leaves half an image.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { z } from 'zod';
import { KeylineError } from '../../common/errors.js';
import { Atecc608Chip, type ChipOptions } from './chip.js';
import { ChipState, SLOT_SIZES } from './state.js';

const FORMAT = 'keyline-atecc608-image';

const hex = (len: number) => z.string().regex(/^[0-9a-f]*$/i).refine((s) => s.length === len * 2, `expected ${len} bytes of hex`);

const ImageSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  config: hex(128),
  otp: hex(64),
  slots: z.tuple(SLOT_SIZES.map((n) => hex(n)) as unknown as [z.ZodString, ...z.ZodString[]]),
  cloneScalar: hex(32).optional(),
});

/** The JSON image of a chip's persistent state. */
export type ChipImage = z.infer<typeof ImageSchema>;

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/** The image of `chip` (persistent state only; TempKey and the SHA context are volatile). */
export function chipImage(chip: Atecc608Chip): ChipImage {
  const s = chip.state;
  const img: ChipImage = {
    format: FORMAT,
    version: 1,
    config: toHex(s.config),
    otp: toHex(s.otp),
    slots: s.slots.map(toHex) as ChipImage['slots'],
  };
  if (s.cloneScalar) img.cloneScalar = toHex(s.cloneScalar);
  return img;
}

/** A chip from an image object; throws CHIP_IMAGE_INVALID naming the field at fault. */
export function chipFromImage(image: unknown, opts: ChipOptions = {}, source = 'image'): Atecc608Chip {
  const parsed = ImageSchema.safeParse(image);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KeylineError('CHIP_IMAGE_INVALID', `${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, {
      detail: { path: issue.path.join('.') },
    });
  }
  const img = parsed.data;
  const state = new ChipState();
  state.config.set(fromHex(img.config));
  state.otp.set(fromHex(img.otp));
  img.slots.forEach((h, i) => state.slots[i]!.set(fromHex(h)));
  if (img.cloneScalar) state.cloneScalar = fromHex(img.cloneScalar);
  return new Atecc608Chip(state, opts);
}

/** Writes `chip`'s image to `file` atomically. */
export async function saveChipImage(chip: Atecc608Chip, file: string): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(chipImage(chip), null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Loads a chip from `file`; a missing, unparsable or inconsistent image is CHIP_IMAGE_INVALID. */
export async function loadChipImage(file: string, opts: ChipOptions = {}): Promise<Atecc608Chip> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new KeylineError('CHIP_IMAGE_INVALID', `cannot read chip image ${file}`, { cause, detail: { file } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new KeylineError('CHIP_IMAGE_INVALID', `chip image ${file} is not JSON`, { cause, detail: { file } });
  }
  return chipFromImage(json, opts, file);
}
