/**
 * An SE050's persistent state as a file (the file is the chip), as for the ATECC608: applet
 * version, unique id, the timestamp's persistent half, curves, and every persistent object with
 * its policy and origin (private scalars included: it is an emulator), as JSON with hex strings.
 * Written atomically (temp file + rename). Transient objects are not saved: they would not
 * survive a power cycle either.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { KeylineError } from '../../common/errors.js';
import { encodePolicy, parsePolicy } from '../../common/se05x/policy.js';
import { Se050Chip, type Se050ChipOptions } from './chip.js';
import type { SecureObject } from './objects.js';
import { Se050State } from './state.js';

const FORMAT = 'keyline-se050-image';
const hex = z.string().regex(/^([0-9a-f]{2})*$/i);
const u32 = z.number().int().min(0).max(0xffffffff);
const base = { id: u32, policy: hex.nullable(), origin: z.number().int().min(1).max(3) };

const ObjectSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('ec'), part: z.enum(['pair', 'public', 'private']), curve: z.number().int().min(1).max(0xff), d: hex.length(64).optional(), pub: hex.length(130) }),
  z.object({ ...base, kind: z.literal('binary'), data: hex.min(2).max(0x7fff * 2) }),
  z.object({ ...base, kind: z.literal('counter'), size: z.number().int().min(1).max(8), value: z.string().regex(/^[0-9]{1,20}$/) }),
]);

const ImageSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  applet: z.enum(['3.1', '7.2']),
  uid: hex.length(36),
  timestampHigh: u32,
  curves: z.array(z.object({ id: z.number().int().min(1).max(17), params: z.number().int().min(0).max(0x1f) })),
  objects: z.array(ObjectSchema),
});

/** The JSON image of an SE050. */
export type Se050Image = z.infer<typeof ImageSchema>;
type ObjectImage = z.infer<typeof ObjectSchema>;

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

function objectImage(o: SecureObject): ObjectImage {
  const b = { id: o.id, policy: o.policy ? toHex(encodePolicy(o.policy)) : null, origin: o.origin };
  if (o.kind === 'binary') return { ...b, kind: 'binary', data: toHex(o.data) };
  if (o.kind === 'counter') return { ...b, kind: 'counter', size: o.size, value: o.value.toString() };
  return { ...b, kind: 'ec', part: o.part, curve: o.curve, pub: toHex(o.pub), ...(o.d ? { d: toHex(o.d) } : {}) };
}

/** The image of `chip` (persistent state only). */
export function se050Image(chip: Se050Chip): Se050Image {
  const s = chip.state;
  return {
    format: FORMAT, version: 1, applet: s.applet, uid: toHex(s.uid), timestampHigh: s.timestampHigh,
    curves: [...s.curves].map(([id, c]) => ({ id, params: c.params })),
    objects: [...s.objects.values()].filter((o) => !o.transient).map(objectImage),
  };
}

const invalid = (source: string, path: string, message: string) =>
  new KeylineError('CHIP_IMAGE_INVALID', `${source}: ${path || '(root)'}: ${message}`, { detail: { path } });

/** A chip from an image object; CHIP_IMAGE_INVALID naming the field at fault. */
export function se050FromImage(image: unknown, opts: Se050ChipOptions = {}, source = 'image'): Se050Chip {
  const parsed = ImageSchema.safeParse(image);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(source, issue.path.join('.'), issue.message);
  }
  const img = parsed.data;
  const state = new Se050State(img.applet, fromHex(img.uid));
  state.timestampHigh = img.timestampHigh;
  for (const c of img.curves) state.curves.set(c.id, { params: c.params });
  for (const [i, o] of img.objects.entries()) {
    if (state.objects.has(o.id)) throw invalid(source, `objects.${i}.id`, 'duplicate object id');
    const policy = o.policy === null ? null : parsePolicy(fromHex(o.policy));
    if (o.policy !== null && (!policy || policy.length === 0)) throw invalid(source, `objects.${i}.policy`, 'malformed policy');
    const b = { id: o.id, policy, origin: o.origin, transient: false };
    if (o.kind === 'binary') state.objects.set(o.id, { ...b, kind: 'binary', data: fromHex(o.data) });
    else if (o.kind === 'counter') {
      const value = BigInt(o.value);
      if (value >= 1n << BigInt(8 * o.size)) throw invalid(source, `objects.${i}.value`, `over ${o.size} bytes`);
      state.objects.set(o.id, { ...b, kind: 'counter', size: o.size, value });
    } else {
      const pub = fromHex(o.pub);
      if (pub[0] !== 0x04) throw invalid(source, `objects.${i}.pub`, 'not an uncompressed point');
      if ((o.part === 'public') !== (o.d === undefined)) throw invalid(source, `objects.${i}.d`, `a ${o.part} key ${o.d ? 'has no' : 'needs a'} private scalar`);
      state.objects.set(o.id, { ...b, kind: 'ec', part: o.part, curve: o.curve, pub, ...(o.d ? { d: fromHex(o.d) } : {}) });
    }
  }
  return new Se050Chip(state, opts);
}

/** Writes `chip`'s image to `file` atomically. */
export async function saveSe050Image(chip: Se050Chip, file: string): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(se050Image(chip), null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Loads a chip from `file`; CHIP_IMAGE_INVALID when missing, not JSON or inconsistent. */
export async function loadSe050Image(file: string, opts: Se050ChipOptions = {}): Promise<Se050Chip> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new KeylineError('CHIP_IMAGE_INVALID', `cannot read SE050 image ${file}`, { cause, detail: { file } });
  }
  return se050FromImage(json, opts, file);
}
