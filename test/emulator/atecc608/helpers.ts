/**
 * Test helpers for the chip model: frame building with the project's packet codec, and chips in
 * the states tests need (blank, config-locked with the provisioning map, fully locked).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { Atecc608Chip } from '../../../emulator/atecc608/chip.js';
import { createBlankChip, type BlankChipOptions } from '../../../emulator/atecc608/factory.js';
import { decodeResponse, encodeCommand } from '../../../secure-element/packet.js';
import { configZoneCrc, provisioningConfigZone } from '../../../secure-element/provisioning-config.js';

/** A decoded answer: `status` for 4-byte responses, `data` always. */
export interface Answer {
  data: Uint8Array;
  status?: number;
}

/** Sends one command to an awake chip and decodes the answer (throws on no response). */
export function run(chip: Atecc608Chip, opcode: number, param1 = 0, param2 = 0, data: Uint8Array | number[] = []): Answer {
  const { response } = chip.execute(encodeCommand({ opcode, param1, param2, data: Uint8Array.from(data) }));
  if (!response) throw new Error('no response');
  return decodeResponse(response);
}

/** The status byte of a 4-byte answer (undefined for data answers). */
export function st(chip: Atecc608Chip, opcode: number, param1 = 0, param2 = 0, data: Uint8Array | number[] = []): number | undefined {
  return run(chip, opcode, param1, param2, data).status;
}

/** A blank chip, awake, with a fixed clock unless one is given. */
export function awakeBlank(opts: BlankChipOptions = {}): Atecc608Chip {
  const chip = createBlankChip({ now: () => 0, ...opts });
  chip.wake();
  return chip;
}

/** Writes the provisioning config (bytes 16-127 except 84-87) as the station does, 4 bytes at a time. */
export function writeProvisioningConfig(chip: Atecc608Chip): Uint8Array {
  const head = run(chip, 0x02, 0x80, 0x00).data.slice(0, 16);
  const cfg = provisioningConfigZone(head);
  for (let off = 16; off < 128; off += 4) {
    if (off === 84) continue;
    const word = off / 4;
    const s = st(chip, 0x12, 0x00, word, cfg.subarray(off, off + 4));
    if (s !== 0) throw new Error(`config write at ${off} answered ${s}`);
  }
  return cfg;
}

/** A chip with the provisioning config written and the config zone locked with its CRC. */
export function configLockedChip(opts: BlankChipOptions = {}): Atecc608Chip {
  const chip = awakeBlank(opts);
  const cfg = writeProvisioningConfig(chip);
  const s = st(chip, 0x17, 0x00, configZoneCrc(cfg));
  if (s !== 0) throw new Error(`config lock answered ${s}`);
  return chip;
}

/** A chip with both zones locked (no CRC) and a device key in slot 0; returns it and the public key. */
export function lockedChipWithKey(opts: BlankChipOptions = {}): { chip: Atecc608Chip; pub: Uint8Array } {
  const chip = configLockedChip(opts);
  const pub = run(chip, 0x40, 0x04, 0).data.slice();
  if (st(chip, 0x17, 0x81, 0) !== 0) throw new Error('data lock failed');
  return { chip, pub };
}

/** A node KeyObject for a raw X‖Y P-256 public key. */
export function publicKeyObject(xy: Uint8Array): KeyObject {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(xy.subarray(0, 32)), y: b64(xy.subarray(32)) }, format: 'jwk' });
}
