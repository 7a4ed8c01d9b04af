/**
 * The device's identity as its firmware learns it at power-on: the chip serial, the compressed
 * device and signer certificates and the signer key read from the slot map, rebuilt into full
 * X.509 certificates with the firmware's templates (atcacert_read_cert), and the chain verified
 * to the pinned root. Nothing here trusts the chip's bytes until a signature has checked them.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { ChipKind } from '../common/chip-serial.js';
import { KeylineError } from '../common/errors.js';
import type { AteccDevice } from '../secure-element/device.js';
import { rebuildCertificate } from '../secure-element/atcacert/rebuild.js';
import { selectCertDef } from '../secure-element/atcacert/device-defs.js';
import { ENROLLMENT_COUNTER, Slot } from '../secure-element/slot-map.js';
import { rawP256Key, type Trust } from './firmware-trust.js';

/** The chip's identity, rebuilt (ATECC608) or read (SE050, se050-identity.ts) and verified. */
export interface ChipIdentity {
  chip: ChipKind;
  /** Chip serial (9 bytes; an SE050's unique id: 18) and its upper-case hex (the MQTT client id and topic segment). */
  serial: Uint8Array;
  serialHex: string;
  /** The device key's public half (GenKey public mode on slot 0; SE050: object 20000001), raw X‖Y. */
  publicKey: Uint8Array;
  deviceDer: Uint8Array;
  signerDer: Uint8Array;
  /** SHA-256 of the device certificate DER (hex), as the enrollment record names it. */
  fingerprint: string;
  /** Counter 0 (SE050: counter object 20000004) before this boot (each enrollment attempt moves it). */
  counter: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Reads and verifies the chip's certificates: signer rebuilt and checked against the root key
 * (RFC 5280 §6.1.3 (a)(1)), device rebuilt and checked against the signer key, names chained
 * (§6.1.3 (a)(4)), the signer a CA (§6.1.4 (k)), and the device certificate's key equal to the
 * key the chip holds, so a certificate copied from another part cannot pass.
 */
export async function readChipIdentity(dev: AteccDevice, trust: Trust): Promise<ChipIdentity> {
  const serial = await dev.serialNumber();
  const serialHex = hex(serial).toUpperCase();
  const deviceCompressed = await dev.readSlot(Slot.DEVICE_CERT);
  const signerCompressed = await dev.readSlot(Slot.SIGNER_CERT);
  const signerPublicKey = await dev.readPublicKeySlot(Slot.SIGNER_PUBLIC_KEY);
  const publicKey = await dev.getPublicKey(Slot.DEVICE_KEY);
  const counter = await dev.counterRead(ENROLLMENT_COUNTER);

  if (deviceCompressed.every((b) => b === 0xff) || deviceCompressed.every((b) => b === 0)) {
    throw new KeylineError('ATCACERT_INVALID', `chip ${serialHex} slot ${Slot.DEVICE_CERT} holds no compressed certificate: the part was never provisioned`);
  }
  const signerDer = rebuildCertificate(trust.signerDef, { publicKey: signerPublicKey, compressed: signerCompressed, issuerPublicKey: trust.rootPublicKey });
  const signer = new X509Certificate(Buffer.from(signerDer));
  if (!signer.ca || !signer.checkIssued(trust.root)) {
    throw new KeylineError('CHAIN_INVALID', `signer certificate ${signer.subject} rebuilt from chip ${serialHex} is not a CA issued by the pinned root ${trust.root.subject}`);
  }
  const deviceDef = selectCertDef(trust.deviceDefs, deviceCompressed);
  const deviceDer = rebuildCertificate(deviceDef, { publicKey, compressed: deviceCompressed, chipSerial: serial, issuerPublicKey: signerPublicKey });
  const device = new X509Certificate(Buffer.from(deviceDer));
  if (!device.checkIssued(signer)) throw new KeylineError('CHAIN_INVALID', `device certificate issuer ${device.issuer} is not the signer ${signer.subject}`);
  if (hex(rawP256Key(device)) !== hex(publicKey)) throw new KeylineError('CHAIN_INVALID', `device certificate key is not chip ${serialHex}'s slot ${Slot.DEVICE_KEY} key`);
  // RFC 5280 §4.1.2.5: a device certificate not yet valid is refused like an expired one.
  const now = Date.now();
  if (Date.parse(device.validFrom) > now + 3_600_000 || Date.parse(device.validTo) < now) {
    throw new KeylineError('CERTIFICATE_EXPIRED', `device certificate of ${serialHex} is valid ${device.validFrom} to ${device.validTo}`);
  }
  return { chip: 'atecc608', serial, serialHex, publicKey, deviceDer, signerDer, fingerprint: createHash('sha256').update(deviceDer).digest('hex'), counter };
}
