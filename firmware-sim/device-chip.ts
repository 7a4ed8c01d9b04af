/**
 * The secure element a simulated device carries, whichever chip it is, behind the SecureElement
 * seam (secure-element/secure-element.ts): an emulated chip loaded from its image file (and the
 * way back to the file, the chip's non-volatile memory, after the counter moved), or a chip
 * served by `keyline emulator serve` and reached over its wire protocol.
 *
 * Which chip it is, is never guessed:
 * - an image's `format` field, written by each emulator's image code: `keyline-atecc608-image`
 *   (emulator/atecc608/image.ts) or `keyline-se050-image` (emulator/se050/image.ts); any other
 *   value is CHIP_IMAGE_INVALID;
 * - an endpoint's URL scheme, as each emulator prints its URL: `kit://HOST:PORT[/INDEX]` is
 *   Microchip's kit protocol (ATECC608; the chip at discovery index INDEX, default 0) and
 *   `jrcp://HOST:PORT` NXP's JRCP v1 (SE050; one chip per port).
 */
import { readFile } from 'node:fs/promises';
import type { ChipKind } from '../common/chip-serial.js';
import { KeylineError, ValidationError } from '../common/errors.js';
import type { Atecc608Chip, ChipOptions } from '../emulator/atecc608/chip.js';
import { chipFromImage } from '../emulator/atecc608/image.js';
import { InProcessTransport } from '../emulator/in-process-transport.js';
import type { Se050Chip, Se050ChipOptions } from '../emulator/se050/chip.js';
import { se050FromImage } from '../emulator/se050/image.js';
import { InProcessApduTransport } from '../emulator/se050/in-process-apdu-transport.js';
import { Atecc608SecureElement } from '../secure-element/atecc608-secure-element.js';
import { AteccDevice } from '../secure-element/device.js';
import { Slot } from '../secure-element/slot-map.js';
import { KitTcpTransport } from '../secure-element/transports/kit-tcp.js';
import { Se050Object } from '../secure-element/se05x/object-map.js';
import { JrcpTcpTransport } from '../secure-element/se05x/jrcp-tcp-transport.js';
import { Se05xDevice } from '../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../secure-element/se05x/se05x-secure-element.js';
import { readChipIdentity, type ChipIdentity } from './chip-identity.js';
import { persistChip, persistSe050 } from './chip-image.js';
import type { Trust } from './firmware-trust.js';
import { readSe050Identity } from './se050-identity.js';

/** The image `format` of each chip. */
export const IMAGE_FORMATS: Readonly<Record<string, ChipKind>> = { 'keyline-atecc608-image': 'atecc608', 'keyline-se050-image': 'se050' };

/**
 * A device's chip: its SecureElement driver and where it lives: an image `file` with the `model`
 * loaded from it, or an `endpoint` (the emulator behind it keeps the model and saves its image).
 */
export type DeviceChip =
  | { kind: 'atecc608'; se: Atecc608SecureElement; model?: Atecc608Chip; file?: string; endpoint?: string }
  | { kind: 'se050'; se: Se05xSecureElement; model?: Se050Chip; file?: string; endpoint?: string };

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

/** A chip endpoint URL, parsed (see the file comment). */
export interface ChipEndpoint {
  kind: ChipKind;
  host: string;
  port: number;
  /** Kit discovery index (ATECC608 only). */
  index: number;
}

/** Parses `kit://HOST:PORT[/INDEX]` or `jrcp://HOST:PORT`; VALIDATION_FAILED naming the value otherwise. */
export function parseChipEndpoint(url: string): ChipEndpoint {
  const m = /^(kit|jrcp):\/\/(\[[^\]]+\]|[^:/[\]]+):(\d{1,5})(?:\/(\d{1,3}))?\/?$/.exec(url);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535 || (m[1] === 'jrcp' && m[4] !== undefined)) {
    throw new ValidationError('VALIDATION_FAILED', `emulator endpoint must be kit://HOST:PORT[/INDEX] (ATECC608) or jrcp://HOST:PORT (SE050), as keyline emulator serve prints it; got '${url}'`, { detail: { field: 'emulator' } });
  }
  return { kind: m[1] === 'jrcp' ? 'se050' : 'atecc608', host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port, index: Number(m[4] ?? 0) };
}

/** Connects to the chip behind an emulator endpoint (its URL says which chip, see the file comment). */
export async function openEndpointChip(url: string, opts: { timeoutMs?: number } = {}): Promise<DeviceChip> {
  const e = parseChipEndpoint(url);
  if (e.kind === 'se050') {
    const transport = await JrcpTcpTransport.connect({ host: e.host, port: e.port, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    return { kind: 'se050', se: new Se05xSecureElement(new Se05xDevice(transport)), endpoint: url };
  }
  const transport = await KitTcpTransport.open(e.host, e.port, { index: e.index });
  return { kind: 'atecc608', se: new Atecc608SecureElement(new AteccDevice(transport)), endpoint: url };
}

/** The chip's serial: from the model when loaded here (before anything goes through the driver), else asked of the chip. */
export async function chipSerialHex(c: DeviceChip): Promise<string> {
  if (!c.model) return (await c.se.identity()).serialHex;
  return Buffer.from(c.kind === 'se050' ? c.model.uid : c.model.serialNumber).toString('hex').toUpperCase();
}

/**
 * Writes the chip's state back to its image (synchronously: the step after it must see it done).
 * A chip behind an endpoint needs nothing: its emulator saves the image after every command that
 * changed it, before answering.
 */
export function persistDeviceChip(c: DeviceChip): void {
  if (!c.file) return;
  if (c.kind === 'se050') persistSe050(c.model!, c.file);
  else persistChip(c.model!, c.file);
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
  if (!c.model) throw new KeylineError('NOT_SUPPORTED', `the chip behind ${c.endpoint ?? 'this endpoint'} keeps its key: a TLS client identity needs a chip image`);
  let d: Uint8Array | undefined;
  if (c.kind === 'se050') {
    const o = c.model.state.objects.get(Se050Object.DEVICE_KEY);
    d = o?.kind === 'ec' ? o.d : undefined;
  } else {
    d = c.model.state.slots[Slot.DEVICE_KEY]?.subarray(4, 36);
  }
  if (!d || d.length !== 32) throw new KeylineError('CHIP_IMAGE_INVALID', `${c.file ?? 'chip image'}: the ${c.kind} holds no device key`);
  return d;
}
