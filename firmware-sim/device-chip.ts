/**
 * The secure element a simulated device carries, whichever chip it is: an emulated chip loaded
 * from its image file, behind the SecureElement seam (secure-element/secure-element.ts), and the
 * way back to the file (the chip's non-volatile memory) after the counter moved.
 *
 * Which chip an image holds is its `format` field, written by each emulator's image code:
 * `keyline-atecc608-image` (emulator/atecc608/image.ts) or `keyline-se050-image`
 * (emulator/se050/image.ts). Nothing else is guessed: any other value is CHIP_IMAGE_INVALID.
 */
import { readFile } from 'node:fs/promises';
import type { ChipKind } from '../common/chip-serial.js';
import { KeylineError } from '../common/errors.js';
import type { Atecc608Chip, ChipOptions } from '../emulator/atecc608/chip.js';
import { chipFromImage } from '../emulator/atecc608/image.js';
import { InProcessTransport } from '../emulator/in-process-transport.js';
import type { Se050Chip, Se050ChipOptions } from '../emulator/se050/chip.js';
import { se050FromImage } from '../emulator/se050/image.js';
import { InProcessApduTransport } from '../emulator/se050/in-process-apdu-transport.js';
import { Atecc608SecureElement } from '../secure-element/atecc608-secure-element.js';
import { AteccDevice } from '../secure-element/device.js';
import { Slot } from '../secure-element/slot-map.js';
import { Se050Object } from '../secure-element/se05x/object-map.js';
import { Se05xDevice } from '../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../secure-element/se05x/se05x-secure-element.js';
import { readChipIdentity, type ChipIdentity } from './chip-identity.js';
import { persistChip, persistSe050 } from './chip-image.js';
import type { Trust } from './firmware-trust.js';
import { readSe050Identity } from './se050-identity.js';

/** The image `format` of each chip. */
export const IMAGE_FORMATS: Readonly<Record<string, ChipKind>> = { 'keyline-atecc608-image': 'atecc608', 'keyline-se050-image': 'se050' };

/** A device's chip: the model, its SecureElement driver, and its image file. */
export type DeviceChip =
  | { kind: 'atecc608'; model: Atecc608Chip; se: Atecc608SecureElement; file: string }
  | { kind: 'se050'; model: Se050Chip; se: Se05xSecureElement; file: string };

/** Emulator options per chip (timing model, faults). */
export interface DeviceChipOptions {
  atecc608?: ChipOptions;
  se050?: Se050ChipOptions;
}

/** The chip a parsed image belongs to, by its `format`; CHIP_IMAGE_INVALID for anything else. */
export function imageChipKind(json: unknown, file: string): ChipKind {
  const format = typeof json === 'object' && json !== null ? (json as { format?: unknown }).format : undefined;
  const kind = typeof format === 'string' ? IMAGE_FORMATS[format] : undefined;
  if (!kind) {
    throw new KeylineError('CHIP_IMAGE_INVALID', `${file}: format: ${JSON.stringify(format ?? null)} is not a chip image format (${Object.keys(IMAGE_FORMATS).join(' or ')})`, { detail: { file, path: 'format' } });
  }
  return kind;
}

/** Loads the chip image in `file`, of either chip, behind its SecureElement driver (in-process link). */
export async function openDeviceChip(file: string, opts: DeviceChipOptions = {}): Promise<DeviceChip> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new KeylineError('CHIP_IMAGE_INVALID', `cannot read chip image ${file}: ${(cause as Error).message}`, { cause, detail: { file } });
  }
  if (imageChipKind(json, file) === 'se050') {
    const model = se050FromImage(json, opts.se050 ?? {}, file);
    return { kind: 'se050', model, se: new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(model))), file };
  }
  const model = chipFromImage(json, opts.atecc608 ?? {}, file);
  // The timing model, when on, is honoured as a host on a real bus would wait.
  return { kind: 'atecc608', model, se: new Atecc608SecureElement(new AteccDevice(new InProcessTransport(model))), file };
}

/** The chip's serial as the model holds it (to match the device-state file before anything is read through the driver). */
export function modelSerialHex(c: DeviceChip): string {
  return Buffer.from(c.kind === 'se050' ? c.model.uid : c.model.serialNumber).toString('hex').toUpperCase();
}

/** Writes the chip's state back to its image (synchronously: the step after it must see it done). */
export function persistDeviceChip(c: DeviceChip): void {
  if (c.kind === 'se050') persistSe050(c.model, c.file);
  else persistChip(c.model, c.file);
}

/**
 * The chip's identity, verified to the pinned root: the ATECC608's compressed certificates
 * rebuilt with the firmware's templates (chip-identity.ts), the SE050's DER certificates read
 * from its objects (se050-identity.ts).
 */
export function readDeviceIdentity(c: DeviceChip, trust: Trust): Promise<ChipIdentity> {
  return c.kind === 'se050' ? readSe050Identity(c.se, trust) : readChipIdentity(c.se.device, trust);
}

/**
 * The device key's private scalar (32 bytes) as the emulated chip's model holds it: ATECC608 slot
 * 0 (4 pad bytes, then the scalar; datasheet §2.2.2), SE050 object 20000001. A real part never
 * gives it out; only a simulated TLS stack that cannot call into the chip may read it
 * (firmware-sim/cloud/chip-key.ts says why). Every protocol signature goes through `se.signDigest`.
 */
export function emulatedDeviceKey(c: DeviceChip): Uint8Array {
  let d: Uint8Array | undefined;
  if (c.kind === 'se050') {
    const o = c.model.state.objects.get(Se050Object.DEVICE_KEY);
    d = o?.kind === 'ec' ? o.d : undefined;
  } else {
    d = c.model.state.slots[Slot.DEVICE_KEY]?.subarray(4, 36);
  }
  if (!d || d.length !== 32) throw new KeylineError('CHIP_IMAGE_INVALID', `${c.file}: the ${c.kind} holds no device key`);
  return d;
}
