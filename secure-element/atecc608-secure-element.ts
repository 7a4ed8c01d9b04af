/**
 * The SecureElement seam for an ATECC608, over the existing AteccDevice driver and Keyline's slot
 * map (slot-map.ts, provisioning-config.ts, SLOT-MAP.md). The 608 stores certificates compressed
 * (atcacert, 72 bytes) with the signer's public key, so writing and reading DER goes through a
 * certificate codec made from the templates the line and the firmware already share.
 */
import { X509Certificate } from 'node:crypto';
import { KeylineError, SecureElementError } from '../common/errors.js';
import { COMP_CERT_SIZE, type CertDef } from './atcacert/cert-def.js';
import { compressCertificate, compressWithAny } from './atcacert/compress.js';
import { selectCertDef } from './atcacert/device-defs.js';
import { rebuildCertificate } from './atcacert/rebuild.js';
import { AteccDevice, Zone } from './device.js';
import { checkProvisioningConfig, configZoneCrc, provisioningConfigZone } from './provisioning-config.js';
import type { AttestationEvidence, ChipIdentity, DeviceCertificates, ProvisioningState, SecureElement } from './secure-element.js';
import { ENROLLMENT_COUNTER, Slot, SLOTS_LOCKED_AFTER_PROVISIONING } from './slot-map.js';

/** What the 608 holds for its certificates. */
export interface AteccStoredCertificates {
  deviceCompressed: Uint8Array;
  /** The signer (issuing CA) public key X‖Y. */
  signerPublicKey: Uint8Array;
  signerCompressed: Uint8Array;
}

/** DER ↔ the 608's compressed certificates. */
export interface AteccCertificateCodec {
  compress(certs: DeviceCertificates): AteccStoredCertificates;
  rebuild(stored: AteccStoredCertificates, serial: Uint8Array, publicKey: Uint8Array): DeviceCertificates;
}

/**
 * The atcacert codec for one issuing CA: its signer definition and the device definitions the
 * CA's profile produces (station: from the issued chain; firmware: from its pinned trust).
 */
export function atcacertCodec(defs: { signerDef: CertDef; deviceDefs: readonly CertDef[] }): AteccCertificateCodec {
  return {
    compress({ device, chain }) {
      if (chain.length !== 1) throw new KeylineError('VALIDATION_FAILED', `the ATECC608 stores exactly one chain certificate (the signer), got ${chain.length}`);
      return {
        deviceCompressed: compressWithAny(defs.deviceDefs, device).compressed,
        signerPublicKey: rawKey(chain[0]!),
        signerCompressed: compressCertificate(defs.signerDef, chain[0]!),
      };
    },
    rebuild(s, serial, publicKey) {
      const signer = rebuildCertificate(defs.signerDef, { publicKey: s.signerPublicKey, compressed: s.signerCompressed });
      const device = rebuildCertificate(selectCertDef(defs.deviceDefs, s.deviceCompressed), { publicKey, compressed: s.deviceCompressed, chipSerial: serial });
      return { device, chain: [signer] };
    },
  };
}

function rawKey(der: Uint8Array): Uint8Array {
  const jwk = new X509Certificate(Buffer.from(der)).publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new KeylineError('VALIDATION_FAILED', 'signer certificate key is not P-256');
  return new Uint8Array(Buffer.concat([Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]));
}

/** The ATECC608 behind the seam. */
export class Atecc608SecureElement implements SecureElement {
  readonly chip = 'atecc608' as const;
  readonly device: AteccDevice;
  readonly #codec: AteccCertificateCodec | undefined;

  /** `certificates` is needed for write/readCertificates only. */
  constructor(device: AteccDevice, opts: { certificates?: AteccCertificateCodec } = {}) {
    this.device = device;
    this.#codec = opts.certificates;
  }

  async identity(): Promise<ChipIdentity> {
    const serial = await this.device.serialNumber();
    return { chip: 'atecc608', serial, serialHex: Buffer.from(serial).toString('hex').toUpperCase() };
  }

  async state(): Promise<ProvisioningState> {
    const d = this.device;
    const prepared = (await d.isLocked('config')) && (await d.isLocked('data'));
    const keyPresent = prepared && (await this.#hasKey());
    const certSlot = prepared ? await d.readSlot(Slot.DEVICE_CERT) : new Uint8Array(0);
    const certificatesWritten = certSlot.length > 0 && !certSlot.every((b) => b === 0) && !certSlot.every((b) => b === 0xff);
    let finalised = prepared;
    for (const s of SLOTS_LOCKED_AFTER_PROVISIONING) finalised = finalised && (await d.isSlotLocked(s));
    return { prepared, keyPresent, certificatesWritten, finalised };
  }

  /**
   * Writes Keyline's provisioning config (SLOT-MAP.md) on a blank part, checks what the chip now
   * holds, locks it with that CRC, then locks the data zone; a part already locked is checked.
   */
  async prepare(): Promise<void> {
    const d = this.device;
    if (!(await d.isLocked('config'))) {
      const head = await d.readBytes(Zone.CONFIG, 0, 0, 32);
      await d.writeConfigZone(provisioningConfigZone(head.subarray(0, 16)));
    }
    const held = await d.readConfigZone();
    const seenUnlocked = Uint8Array.from(held);
    seenUnlocked.set([0x55, 0x55, 0xff, 0xff], 86);
    const problems = checkProvisioningConfig(seenUnlocked);
    if (problems.length > 0) throw new KeylineError('VALIDATION_FAILED', `config zone is not Keyline's provisioning config: ${problems.join('; ')}`, { detail: { problems } });
    if (!(await d.isLocked('config'))) await d.lockConfigZone(configZoneCrc(held));
    if (!(await d.isLocked('data'))) await d.lockDataZone();
  }

  async generateKey(): Promise<Uint8Array> {
    if (await this.#hasKey()) throw new SecureElementError('ATCA_EXECUTION_ERROR', `slot ${Slot.DEVICE_KEY} already holds a key: read it with publicKey(), never generate twice`);
    return this.device.genKey(Slot.DEVICE_KEY);
  }

  publicKey(): Promise<Uint8Array> {
    return this.device.getPublicKey(Slot.DEVICE_KEY);
  }

  async writeCertificates(certs: DeviceCertificates): Promise<void> {
    const c = this.#needCodec().compress(certs);
    const d = this.device;
    if (!(await d.isSlotLocked(Slot.DEVICE_CERT))) await d.writeSlot(Slot.DEVICE_CERT, c.deviceCompressed);
    if (!(await d.isSlotLocked(Slot.SIGNER_PUBLIC_KEY))) await d.writePublicKeySlot(Slot.SIGNER_PUBLIC_KEY, c.signerPublicKey);
    if (!(await d.isSlotLocked(Slot.SIGNER_CERT))) await d.writeSlot(Slot.SIGNER_CERT, c.signerCompressed);
  }

  async readCertificates(): Promise<DeviceCertificates> {
    const codec = this.#needCodec();
    const d = this.device;
    const stored: AteccStoredCertificates = {
      deviceCompressed: (await d.readSlot(Slot.DEVICE_CERT)).subarray(0, COMP_CERT_SIZE),
      signerPublicKey: await d.readPublicKeySlot(Slot.SIGNER_PUBLIC_KEY),
      signerCompressed: (await d.readSlot(Slot.SIGNER_CERT)).subarray(0, COMP_CERT_SIZE),
    };
    return codec.rebuild(stored, await d.serialNumber(), await this.publicKey());
  }

  signDigest(digest: Uint8Array): Promise<Uint8Array> {
    return this.device.signDigest(Slot.DEVICE_KEY, digest);
  }

  counterIncrement(): Promise<number> {
    return this.device.counterIncrement(ENROLLMENT_COUNTER);
  }

  counterRead(): Promise<number> {
    return this.device.counterRead(ENROLLMENT_COUNTER);
  }

  /** Locks the key and certificate slots one by one (Lock mode 2), skipping those already locked. */
  async finalise(): Promise<void> {
    for (const s of SLOTS_LOCKED_AFTER_PROVISIONING) if (!(await this.device.isSlotLocked(s))) await this.device.lockSlot(s);
  }

  async attest(_nonce: Uint8Array): Promise<AttestationEvidence> {
    return { chip: 'atecc608', format: 'atecc608-unattested', serial: await this.device.serialNumber(), publicKey: await this.publicKey(), configZone: await this.device.readConfigZone() };
  }

  close(): Promise<void> {
    return this.device.close();
  }

  async #hasKey(): Promise<boolean> {
    try {
      await this.device.getPublicKey(Slot.DEVICE_KEY);
      return true;
    } catch (err) {
      // No key yet: the slot's scalar is not a valid key (ECC fault) or the zone is not ready.
      if (err instanceof SecureElementError && (err.code === 'ATCA_ECC_FAULT' || err.code === 'ATCA_EXECUTION_ERROR')) return false;
      throw err;
    }
  }

  #needCodec(): AteccCertificateCodec {
    if (!this.#codec) throw new KeylineError('NOT_SUPPORTED', 'this Atecc608SecureElement was made without a certificate codec (atcacertCodec)');
    return this.#codec;
  }
}
