/**
 * Shared fixtures for the driver and transport tests: cryptoauthlib's 608 test configuration and
 * helpers that build a blank or a provisioned (config and data locked) emulated chip.
 */
import { createBlankChip, type BlankChipOptions } from '../../emulator/atecc608/factory.js';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import { AteccDevice, lockSummaryCrc } from '../../secure-element/device.js';
import { InProcessTransport } from '../../emulator/in-process-transport.js';

/** cryptoauthlib's test_ecc608_configdata (bytes 0-15 are the chip's own; 84-87 untouched by Write). */
export const TEST_CONFIG = Uint8Array.from(
  Buffer.from(
    [
      '012300000000600004050607EE010100',
      'C000A100AF2FC4448720C4F48F0F0F0F',
      '9F8F8364C444C4640F0F0F0F0F0F0F0F',
      '0F0F0F0FFFFFFFFF00000000FFFFFFFF',
      '00000000FF8403BC0969760000000000',
      '0000000000000000FFFF0E4000000000',
      '33001C0013001C003C003E001C003300',
      '1C001C00381030003C003C0032003000',
    ].join(''),
    'hex',
  ),
);

/** A device over a fresh blank in-process chip. */
export function blankDevice(opts: BlankChipOptions = {}): { chip: Atecc608Chip; device: AteccDevice } {
  const chip = createBlankChip(opts);
  return { chip, device: new AteccDevice(new InProcessTransport(chip)) };
}

/** Writes TEST_CONFIG, locks config (CRC-checked) and data (unchecked) through `device`. */
export async function provision(device: AteccDevice): Promise<void> {
  await device.writeConfigZone(TEST_CONFIG);
  const config = await device.readConfigZone();
  await device.lockConfigZone(lockSummaryCrc(config));
  await device.lockDataZone();
}

/** A device over a provisioned in-process chip. */
export async function provisionedDevice(opts: BlankChipOptions = {}): Promise<{ chip: Atecc608Chip; device: AteccDevice }> {
  const r = blankDevice(opts);
  await provision(r.device);
  return r;
}
