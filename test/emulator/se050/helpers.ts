/**
 * SE050 test fixtures: one manufacturer root per test process (making one costs a key
 * generation), fresh emulated parts over the in-process link, a device already selected.
 */
import { createManufacturerRoot, type ManufacturerRoot } from '../../../common/se05x/manufacturer-root.js';
import type { AppletVersionName } from '../../../common/se05x/applet-constants.js';
import type { Se050Chip, Se050ChipOptions } from '../../../emulator/se050/chip.js';
import { createSe050Chip } from '../../../emulator/se050/factory.js';
import { InProcessApduTransport } from '../../../emulator/se050/in-process-apdu-transport.js';
import { Se05xDevice } from '../../../secure-element/se05x/se05x-device.js';

let root: Promise<ManufacturerRoot> | undefined;

/** The process's test manufacturer root. */
export function testRoot(): Promise<ManufacturerRoot> {
  root ??= createManufacturerRoot({ org: 'Keyline Test' });
  return root;
}

/** A new part. */
export async function newChip(applet: AppletVersionName = '3.1', opts: Se050ChipOptions = {}): Promise<Se050Chip> {
  return createSe050Chip({ ...opts, root: await testRoot(), applet });
}

/** A new part and a driver over it, applet selected. */
export async function selectedDevice(applet: AppletVersionName = '3.1', opts: Se050ChipOptions = {}): Promise<{ chip: Se050Chip; dev: Se05xDevice }> {
  const chip = await newChip(applet, opts);
  const dev = new Se05xDevice(new InProcessApduTransport(chip));
  await dev.select();
  return { chip, dev };
}

/** Sends raw hex to a chip and returns the R-APDU as hex (upper case). */
export function send(chip: Se050Chip, hex: string): string {
  const r = chip.transmit(Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'))).response;
  return r ? Buffer.from(r).toString('hex').toUpperCase() : 'NONE';
}

/** Hex without spaces, upper case. */
export const hx = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
