/**
 * Who a cloud-protocol connection is: the device whose line certificate it presented. The same
 * checks as the embedded broker's certificate path (aedes-broker.ts): a certificate is required
 * and must chain to this PKI, its CN must be a chip serial, it must not be revoked; the serial is
 * then bound to certificate authentication through the broker's admission hook
 * (device-admission.ts), so that a device that proved its certificate here is never again
 * admitted by its client id alone on the Keyline-protocol broker.
 */
import { X509Certificate } from 'node:crypto';
import { serialSchema } from '../../../common/protocol/enrollment.js';
import type { DeviceAdmission } from '../../enroll/device-admission.js';
import type { ConnackCode, TlsPeer } from './mqtt-session.js';

/** A device authenticated by its certificate. */
export interface DevicePeer {
  /** The chip serial (the certificate's CN). */
  serial: string;
  certificateDer: Buffer;
  /** Its certificate serial, lowercase hex without leading zeros. */
  certificateSerial: string;
  /** Its key, raw P-256 X‖Y (the form units.public_key stores). */
  publicKey: Uint8Array;
}

/** What the check needs. */
export interface DeviceConnectDeps {
  /** True when a certificate serial (lowercase hex) is revoked. */
  isRevoked(certificateSerialHex: string): Promise<boolean>;
  admission: DeviceAdmission;
}

/** The device behind a TLS connection, or the CONNACK code refusing it and why. */
export async function authenticateDevice(peer: TlsPeer, d: DeviceConnectDeps): Promise<DevicePeer | { refuse: ConnackCode; reason: string }> {
  const leaf = peer.leaf;
  if (!leaf) return { refuse: 5, reason: 'no client certificate: the device authenticates with its line certificate' };
  if (!peer.authorized) return { refuse: 5, reason: `client certificate not trusted: ${peer.authorizationError ?? 'unknown reason'}` };
  if (!leaf.cn || !serialSchema.safeParse(leaf.cn).success) return { refuse: 5, reason: `client certificate CN '${leaf.cn ?? ''}' is not a device serial` };
  const publicKey = p256Point(leaf.der);
  if (!publicKey) return { refuse: 5, reason: 'client certificate key is not an uncompressed P-256 point' };
  if (await d.isRevoked(leaf.serialHex)) return { refuse: 5, reason: `client certificate ${leaf.serialHex} is revoked` };
  try {
    await d.admission.bindCertificate(leaf.cn);
  } catch (err) {
    return { refuse: 3, reason: `binding ${leaf.cn} to its certificate failed (${(err as Error).message}); retry later` };
  }
  return { serial: leaf.cn, certificateDer: leaf.der, certificateSerial: leaf.serialHex, publicKey };
}

/** The certificate's P-256 point as raw X‖Y, or null for any other key (RFC 5480 §2.2: 91-byte SPKI ending 04‖X‖Y). */
function p256Point(der: Buffer): Uint8Array | null {
  const key = new X509Certificate(der).publicKey;
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return null;
  const spki = key.export({ format: 'der', type: 'spki' });
  return spki.length === 91 && spki[26] === 0x04 ? new Uint8Array(spki.subarray(27)) : null;
}
