/**
 * The 128 config-zone bytes that implement the slot map (slot-map.ts), a checker that catches the
 * mistakes that brick a part once the config is locked, and the summary CRC the Lock command
 * checks. The station writes bytes 16-127 (skipping 84-87) and then locks with configZoneCrc.
 */
import { crc16 } from './crc.js';
import { Slot } from './slot-map.js';

/** SlotConfig / KeyConfig pairs (16-bit values) per slot; see SLOT-MAP.md for the bit meanings. */
export const SLOT_POLICY: readonly { slotConfig: number; keyConfig: number }[] = Array.from({ length: 16 }, (_, slot) => {
  switch (slot) {
    case Slot.DEVICE_KEY:
      // ReadKey 0x7: external sign, internal sign, ECDH (clear result); IsSecret; WriteConfig 0x2: GenKey allowed.
      // KeyConfig 0x0033: Private, PubInfo, KeyType 4 (P-256), Lockable.
      return { slotConfig: 0x2087, keyConfig: 0x0033 };
    case Slot.SIGNER_PUBLIC_KEY:
      // Clear read, write Always (until slot-locked); KeyConfig 0x0030: KeyType 4 public key, Lockable, PubInfo 0
      // so Verify may use it without a Validate step.
      return { slotConfig: 0x0000, keyConfig: 0x0030 };
    default:
      // Data slots (certificates, general data, spares): clear read, write Always; KeyType 7, Lockable.
      return { slotConfig: 0x0000, keyConfig: 0x003c };
  }
});

/**
 * The provisioning config zone. `serialAndRev`, when given, supplies bytes 0-15 as read from the
 * chip (serial, revision, AES/I2C enables) so the CRC of the result is the one the chip computes.
 */
export function provisioningConfigZone(serialAndRev?: Uint8Array): Uint8Array {
  const c = new Uint8Array(128);
  if (serialAndRev) c.set(serialAndRev.subarray(0, 16), 0);
  c[16] = 0xc0; // I2C address (8-bit form)
  c[17] = 0x00; // reserved
  c[18] = 0x00; // CountMatch disabled
  c[19] = 0x00; // ChipMode: address from byte 16, watchdog 1.3 s, clock divider M0
  SLOT_POLICY.forEach(({ slotConfig, keyConfig }, s) => {
    c[20 + 2 * s] = slotConfig & 0xff;
    c[21 + 2 * s] = slotConfig >> 8;
    c[96 + 2 * s] = keyConfig & 0xff;
    c[97 + 2 * s] = keyConfig >> 8;
  });
  // Counters 0 and 1 at zero (FF FF FF FF 00 00 00 00 is the chip's encoding of 0).
  c.set([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], 52);
  c.set([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], 60);
  // 68-83: UseLock, VolatileKeyPermission, SecureBoot, KdfIv* all off.
  c.set([0x00, 0x00, 0x55, 0x55], 84); // UserExtra, UserExtraAdd, LockValue, LockConfig (unlocked)
  c.set([0xff, 0xff], 88); // SlotLocked: every slot unlocked
  c.set([0x00, 0x00], 90); // ChipOptions: ECDHProt 0 (clear ECDH output allowed), no IO protection key
  return c;
}

/** The config-lock summary CRC (CRC-16 over all 128 bytes, as Lock mode 0x00 checks it). */
export function configZoneCrc(configZone: Uint8Array): number {
  if (configZone.length !== 128) throw new RangeError(`config zone must be 128 bytes, got ${configZone.length}`);
  return crc16(configZone);
}

const u16 = (c: Uint8Array, at: number) => c[at]! | (c[at + 1]! << 8);

/** Lists what is wrong with a config zone for Keyline's slot map (empty when it is fit to lock). */
export function checkProvisioningConfig(configZone: Uint8Array): string[] {
  if (configZone.length !== 128) return [`config zone must be 128 bytes, got ${configZone.length}`];
  const c = configZone;
  const problems: string[] = [];
  const sc = (s: number) => u16(c, 20 + 2 * s);
  const kc = (s: number) => u16(c, 96 + 2 * s);
  const keyType = (s: number) => (kc(s) >> 2) & 7;

  const k = Slot.DEVICE_KEY;
  if (keyType(k) !== 4) problems.push(`slot ${k} KeyConfig.KeyType is ${keyType(k)}, must be 4 (P-256): GenKey would fail for ever after lock`);
  if ((kc(k) & 0x01) === 0) problems.push(`slot ${k} KeyConfig.Private is 0: the device key would not be a private key`);
  if ((sc(k) & 0x80) === 0) problems.push(`slot ${k} SlotConfig.IsSecret is 0`);
  if (((sc(k) >> 12) & 0x2) === 0) problems.push(`slot ${k} SlotConfig.WriteConfig lacks the GenKey bit: no key could be made after data lock`);
  if (((sc(k) >> 12) & 0x4) !== 0) problems.push(`slot ${k} SlotConfig.WriteConfig allows PrivWrite: a key could be injected`);
  if ((sc(k) & 0x01) === 0) problems.push(`slot ${k} SlotConfig.ReadKey bit 0 is 0: external Sign refused`);
  if ((sc(k) & 0x04) === 0) problems.push(`slot ${k} SlotConfig.ReadKey bit 2 is 0: ECDH refused`);
  if ((kc(k) & 0x20) === 0) problems.push(`slot ${k} KeyConfig.Lockable is 0: the key slot could not be locked`);

  for (const s of [Slot.DEVICE_CERT, Slot.SIGNER_CERT, Slot.SIGNER_PUBLIC_KEY]) {
    if (kc(s) & 0x01) problems.push(`slot ${s} KeyConfig.Private is 1: its contents could never be read`);
    if (sc(s) & 0x80) problems.push(`slot ${s} SlotConfig.IsSecret is 1: it could not be read back after data lock`);
    if ((sc(s) >> 12) !== 0) problems.push(`slot ${s} SlotConfig.WriteConfig is ${(sc(s) >> 12).toString(2).padStart(4, '0')}: it must be Always (0000) to write it after data lock`);
    if ((kc(s) & 0x20) === 0) problems.push(`slot ${s} KeyConfig.Lockable is 0: it could not be locked after provisioning`);
  }
  const p = Slot.SIGNER_PUBLIC_KEY;
  if (keyType(p) !== 4) problems.push(`slot ${p} KeyConfig.KeyType is ${keyType(p)}, must be 4 (P-256 public key) for Verify`);
  if (kc(p) & 0x02) problems.push(`slot ${p} KeyConfig.PubInfo is 1: Verify would need a Validate step first`);

  if (c[16] !== 0xc0) problems.push(`I2C address (byte 16) is 0x${c[16]!.toString(16)}, expected 0xc0`);
  if (c[86] !== 0x55 || c[87] !== 0x55) problems.push(`LockValue/LockConfig (bytes 86-87) are ${c[86]!.toString(16)} ${c[87]!.toString(16)}, expected 55 55 (unlocked)`);
  if (c[88] !== 0xff || c[89] !== 0xff) problems.push('SlotLocked (bytes 88-89) must be FF FF before provisioning');
  if ((c[91]! & 0x03) === 2) problems.push('ChipOptions.ECDHProt forbids ECDH output');
  return problems;
}
