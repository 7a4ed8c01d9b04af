/**
 * An ATECC608 on the line: the slot-level steps of chip-steps.ts over the kit driver. The 608
 * keeps its own steps rather than going through Atecc608SecureElement: the line locks the config
 * zone with the CRC of what the chip must hold (the chip itself checks the write), reads the
 * serial, locks and SlotLocked in one read, and rebuilds the compressed certificates it wrote to
 * compare them byte for byte with the issued DER; the seam hides all of that.
 */
import type { KeyOriginEvidence } from '../common/protocol/key-origin.js';
import type { AteccDevice } from '../secure-element/device.js';
import type { CertChecker, PreparedCertificates } from './cert-check.js';
import {
  configureChip, expectedConfig, generateKey, inspectChip, lockSlots, readCertificates, readPublicKey, writeCertificates,
  type ChipFacts, type ProvisioningProfile,
} from './chip-steps.js';
import { faultText, UnitFault } from './line-signals.js';
import type { UnitChip, UnitChipFacts } from './unit-chip.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One ATECC608 part. */
export class AteccUnitChip implements UnitChip<PreparedCertificates> {
  readonly kind = 'atecc608' as const;
  #facts: ChipFacts | undefined;
  /** The config zone as the chip holds it once step 1 locked it here (its evidence without another read). */
  #config: Uint8Array | undefined;

  constructor(readonly device: AteccDevice, private readonly profile: ProvisioningProfile, private readonly checker: CertChecker) {}

  async inspect(): Promise<UnitChipFacts> {
    const f = (this.#facts = await inspectChip(this.device));
    return { chip: 'atecc608', serialHex: f.serialHex, serial: f.serial, blank: !f.configLocked };
  }

  async configure(): Promise<void> {
    const f = this.#need();
    await configureChip(this.device, this.profile, f);
    if (!f.configLocked) {
      // Locked now: LockConfig and LockValue read 00 (datasheet §"Config zone").
      const c = expectedConfig(this.profile, f);
      c.set([0x00, 0x00], 86);
      this.#config = c;
    }
  }

  generateKey(): Promise<Uint8Array> {
    return generateKey(this.device, this.profile);
  }

  readPublicKey(): Promise<Uint8Array> {
    return readPublicKey(this.device, this.profile);
  }

  /** The config zone: what the server records as the 608's unattested report (nothing signs it). */
  async evidence(): Promise<KeyOriginEvidence> {
    const config = this.#config ?? (await this.device.readConfigZone());
    return { format: 'atecc608-unattested', configZone: hex(config) };
  }

  check(issued: { certificatePem: string; chainPem: string }, serialHex: string, publicKey: Uint8Array): PreparedCertificates {
    return this.checker.prepare(issued, serialHex, publicKey);
  }

  write(certs: PreparedCertificates): Promise<void> {
    return writeCertificates(this.device, this.profile, certs.chip, this.#need());
  }

  async verify(certs: PreparedCertificates, publicKey: Uint8Array): Promise<void> {
    const read = await readCertificates(this.device, this.profile);
    try {
      this.checker.checkReadBack(read, certs, this.#need().serial, publicKey);
    } catch (err) {
      throw new UnitFault(`read-back check failed: ${faultText(err)}`);
    }
  }

  lock(): Promise<void> {
    return lockSlots(this.device, this.profile, this.#need());
  }

  #need(): ChipFacts {
    if (!this.#facts) throw new Error('AteccUnitChip: inspect() first');
    return this.#facts;
  }
}
