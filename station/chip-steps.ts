/**
 * The chip side of one unit, step by step, through the host driver only. Each function is safe to
 * run again on a chip a killed station left half-way: it reads the chip's state first and skips
 * what is already done (a locked zone is not locked twice, a locked slot is not rewritten).
 */
import { KeylineError, SecureElementError } from '../common/errors.js';
import { Zone, type AteccDevice } from '../secure-element/device.js';
import { COMP_CERT_SIZE } from '../secure-element/atcacert/cert-def.js';
import { checkProvisioningConfig, configZoneCrc, provisioningConfigZone } from '../secure-element/provisioning-config.js';
import { Slot, SLOTS_LOCKED_AFTER_PROVISIONING } from '../secure-element/slot-map.js';

/** What the line needs to know about a provisioning layout (the slot map and its config zone). */
export interface ProvisioningProfile {
  /** The 128 config-zone bytes to write on a blank part (bytes 0-15 and 84-87 are ignored by the driver). */
  configZone(): Uint8Array;
  /** Problems with a config zone (read back from the chip): empty when GenKey and the slot map will work. */
  check(config: Uint8Array): string[];
  /** The Lock command's summary CRC of a config zone (datasheet §Lock: CRC-16 over the 128 bytes). */
  crc(config: Uint8Array): number;
  /** The device private key slot. */
  keySlot: number;
  deviceCertSlot: number;
  signerPublicKeySlot: number;
  signerCertSlot: number;
  /** Slots locked (Lock mode 2) once their contents are verified. */
  lockSlots: readonly number[];
}

/**
 * Keyline's slot map (secure-element/slot-map.ts) and its config zone. A chip whose config is
 * already locked (a resumed unit) is checked for the same policy with its lock bytes (86-89)
 * seen as unlocked: the locks are what this station did, the policy is what must match.
 */
export function keylineProfile(): ProvisioningProfile {
  return {
    configZone: () => provisioningConfigZone(),
    check: (config) => {
      const c = Uint8Array.from(config);
      c.set([0x55, 0x55, 0xff, 0xff], 86);
      return checkProvisioningConfig(c);
    },
    crc: configZoneCrc,
    keySlot: Slot.DEVICE_KEY,
    deviceCertSlot: Slot.DEVICE_CERT,
    signerPublicKeySlot: Slot.SIGNER_PUBLIC_KEY,
    signerCertSlot: Slot.SIGNER_CERT,
    lockSlots: SLOTS_LOCKED_AFTER_PROVISIONING,
  };
}

/** What the unit writes into its chip, and reads back to check. */
export interface ChipCertificates {
  deviceCompressed: Uint8Array;
  signerPublicKey: Uint8Array;
  signerCompressed: Uint8Array;
}

/** What `inspectChip` finds. */
export interface ChipFacts {
  serialHex: string;
  serial: Uint8Array;
  revision: Uint8Array;
  /** Config bytes 0-31 (serial, revision, I2C settings) as the chip holds them. */
  block0: Uint8Array;
  /** Config bytes 84-87: UserExtra, UserExtraAdd, LockValue, LockConfig. */
  lockWord: Uint8Array;
  configLocked: boolean;
  dataLocked: boolean;
  /** Slots whose SlotLocked bit (config bytes 88-89) is cleared. */
  lockedSlots: ReadonlySet<number>;
}

/** Info, then config bytes 0-95 in one session: serial, revision, lock bytes, SlotLocked. */
export async function inspectChip(dev: AteccDevice): Promise<ChipFacts> {
  const revision = await dev.info();
  const head = await dev.readBytes(Zone.CONFIG, 0, 0, 96);
  const serial = new Uint8Array(9);
  serial.set(head.subarray(0, 4), 0);
  serial.set(head.subarray(8, 13), 4);
  // Bytes 86 (LockValue) and 87 (LockConfig): 0x55 = unlocked (datasheet §"Config zone").
  const lockWord = head.slice(84, 88);
  return {
    serial, serialHex: Buffer.from(serial).toString('hex').toUpperCase(), revision, block0: head.slice(0, 32), lockWord,
    configLocked: lockWord[3] !== 0x55, dataLocked: lockWord[2] !== 0x55, lockedSlots: slotLockBits(head[88]!, head[89]!),
  };
}

/**
 * Step 1: on a blank part, checks the provisioning config (never lock a config that would make
 * GenKey fail: the lock is irreversible), writes it, and locks it with the CRC summary of the
 * 128 bytes the chip must now hold (its own bytes 0-15 and 84-87, ours elsewhere): the chip
 * refuses the lock unless what it holds is exactly that (datasheet §"Lock command"), which is
 * the read-back check done by the chip itself. A part already locked is read and checked.
 * Then locks the data zone, which must be locked before any slot can be read back (datasheet
 * §"Data zone access restrictions").
 */
export async function configureChip(dev: AteccDevice, profile: ProvisioningProfile, facts: ChipFacts): Promise<void> {
  const config = facts.configLocked ? await dev.readConfigZone() : expectedConfig(profile, facts);
  const problems = profile.check(config);
  if (problems.length > 0) {
    const what = facts.configLocked ? 'locked config zone is not the provisioning config' : 'provisioning config is unfit to lock';
    throw new KeylineError('VALIDATION_FAILED', `${what}: ${problems.join('; ')}`, { detail: { problems } });
  }
  if (!facts.configLocked) {
    await dev.writeConfigZone(config);
    try {
      await dev.lockConfigZone(profile.crc(config));
    } catch (err) {
      if (err instanceof SecureElementError && err.code === 'ATCA_EXECUTION_ERROR') {
        throw new SecureElementError('ATCA_EXECUTION_ERROR', 'config lock refused: the config zone does not match its CRC summary (write not taken as sent)', { cause: err, ...(err.status !== undefined ? { status: err.status } : {}) });
      }
      throw err;
    }
  }
  // The data zone holds nothing yet (the key is generated and the certificates written after,
  // as the slot map's WriteConfig allows), so its lock carries no summary worth checking.
  if (!facts.dataLocked) await dev.lockDataZone();
}

/** The 128 bytes a blank chip holds once the provisioning config is written. */
export function expectedConfig(profile: ProvisioningProfile, facts: ChipFacts): Uint8Array {
  const c = Uint8Array.from(profile.configZone());
  c.set(facts.block0.subarray(0, 16), 0);
  c.set(facts.lockWord, 84);
  return c;
}

/** Step 2: GenKey (mode 0x04) in the key slot; the public key X||Y. */
export function generateKey(dev: AteccDevice, profile: ProvisioningProfile): Promise<Uint8Array> {
  return dev.genKey(profile.keySlot);
}

/** Step 2 on resume: the public key of the key already in the slot (GenKey mode 0x00), never a new key. */
export function readPublicKey(dev: AteccDevice, profile: ProvisioningProfile): Promise<Uint8Array> {
  return dev.getPublicKey(profile.keySlot);
}

/** Step 4a: writes the compressed certificates and the signer public key (slots already locked are left alone). */
export async function writeCertificates(dev: AteccDevice, profile: ProvisioningProfile, certs: ChipCertificates, facts: ChipFacts): Promise<void> {
  for (const c of [certs.deviceCompressed, certs.signerCompressed]) {
    if (c.length !== COMP_CERT_SIZE) throw new KeylineError('ATCACERT_INVALID', `compressed certificate must be ${COMP_CERT_SIZE} bytes, got ${c.length}`);
  }
  // Slot locks change only in step 5, so what inspectChip saw still holds.
  const locked = facts.lockedSlots;
  if (!locked.has(profile.deviceCertSlot)) await dev.writeSlot(profile.deviceCertSlot, certs.deviceCompressed);
  if (!locked.has(profile.signerPublicKeySlot)) await dev.writePublicKeySlot(profile.signerPublicKeySlot, certs.signerPublicKey);
  if (!locked.has(profile.signerCertSlot)) await dev.writeSlot(profile.signerCertSlot, certs.signerCompressed);
}

/** Step 4b: reads the certificates back from the chip. */
export async function readCertificates(dev: AteccDevice, profile: ProvisioningProfile): Promise<ChipCertificates> {
  return {
    deviceCompressed: (await dev.readSlot(profile.deviceCertSlot)).subarray(0, COMP_CERT_SIZE),
    signerPublicKey: await dev.readPublicKeySlot(profile.signerPublicKeySlot),
    signerCompressed: (await dev.readSlot(profile.signerCertSlot)).subarray(0, COMP_CERT_SIZE),
  };
}

/** Step 5: locks each slot the slot map names, then checks the SlotLocked bits say so. */
export async function lockSlots(dev: AteccDevice, profile: ProvisioningProfile, facts: ChipFacts): Promise<void> {
  const before = facts.lockedSlots;
  for (const slot of profile.lockSlots) {
    if (!before.has(slot)) await dev.lockSlot(slot);
  }
  const after = await lockedSlots(dev);
  const open = profile.lockSlots.filter((s) => !after.has(s));
  if (open.length > 0) throw new SecureElementError('ATCA_EXECUTION_ERROR', `slot(s) ${open.join(', ')} still unlocked after Lock`);
}

/** The locked slots, from one read of SlotLocked (config bytes 88-89, a cleared bit = locked). */
async function lockedSlots(dev: AteccDevice): Promise<Set<number>> {
  const word = await dev.read(Zone.CONFIG, 0, 2, 6, 4);
  return slotLockBits(word[0]!, word[1]!);
}

function slotLockBits(lo: number, hi: number): Set<number> {
  const bits = lo | (hi << 8);
  const out = new Set<number>();
  for (let s = 0; s < 16; s++) if ((bits & (1 << s)) === 0) out.add(s);
  return out;
}
