/**
 * Shared fixtures for the driver and transport tests: cryptoauthlib's 608 test configuration and
 * helpers that build a blank or a provisioned (config and data locked) emulated chip.
 */
import { createBlankChip, type BlankChipOptions } from '../../emulator/atecc608/factory.js';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import { AteccDevice, lockSummaryCrc } from '../../secure-element/device.js';
import { InProcessTransport } from '../../emulator/in-process-transport.js';

/**
 * cryptoauthlib's test_ecc608_configdata as its 3.7 test runner has it (test/api_calib/
 * test_calib_config.c; bytes 0-15 are the chip's own, 84-87 untouched by Write). Older copies
 * (test/atca_test_config.c, and the one in the team's reference notes) had KeyConfig 0x003E for
 * slot 5 and 0x1038 for slot 10; 3.7 moves PersistentDisable to slot 5 (0x103A, the AES key its
 * volatile_key_permit test uses) and leaves slot 10 a plain AES key (0x0038, TEST_TYPE_AES).
 */
export const TEST_CONFIG = Uint8Array.from(
  Buffer.from(
    [
      '012300000000600004050607EE010100',
      'C000A100AF2FC4448720C4F48F0F0F0F',
      '9F8F8364C444C4640F0F0F0F0F0F0F0F',
      '0F0F0F0FFFFFFFFF00000000FFFFFFFF',
      '00000000FF8403BC0969760000000000',
      '0000000000000000FFFF0E4000000000',
      '33001C0013001C003C003A101C003300',
      '1C001C00380030003C003C0032003000',
    ].join(''),
    'hex',
  ),
);

/** A device over a fresh blank in-process chip. */
export function blankDevice(opts: BlankChipOptions = {}): { chip: Atecc608Chip; device: AteccDevice } {
  const chip = createBlankChip(opts);
  return { chip, device: new AteccDevice(new InProcessTransport(chip)) };
}

/**
 * Slot 10's first block with the count-match value cryptoauthlib's counter_match test leaves for
 * the tests after it (COUNTER_MAX_VALUE - 31, twice, little-endian: atcah_encode_counter_match).
 * TEST_CONFIG turns CountMatch on with slot 10 and makes the slot-0 key limited-use, so without it
 * the slot-0 key is spent from the start (counter 0 is already at the match value 0).
 */
export const HIGH_COUNT_MATCH = (() => {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(2_097_151 - 31, 0);
  b.writeUInt32LE(2_097_151 - 31, 4);
  return new Uint8Array(b);
})();

/** Writes TEST_CONFIG, locks config (CRC-checked), sets slot 10's count match high, locks data (unchecked). */
export async function provision(device: AteccDevice): Promise<void> {
  await device.writeConfigZone(TEST_CONFIG);
  const config = await device.readConfigZone();
  await device.lockConfigZone(lockSummaryCrc(config));
  await device.writeSlot(10, HIGH_COUNT_MATCH);
  await device.lockDataZone();
}

/** A device over a provisioned in-process chip. */
export async function provisionedDevice(opts: BlankChipOptions = {}): Promise<{ chip: Atecc608Chip; device: AteccDevice }> {
  const r = blankDevice(opts);
  await provision(r.device);
  return r;
}
