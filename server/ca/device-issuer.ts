/**
 * The device-certificate seam between provisioning and the CA: plain data in, DER out.
 * Implemented per chip: the DER-template issuer for the ATECC608 (fast path, compressed-certificate
 * compatible), the plain-DER issuer for the SE050 (der-device-issuer.ts), and the chip-device
 * issuer that sends each request to its chip's profile (chip-device-issuer.ts).
 */
import type { ChipKind } from '../../common/chip-serial.js';

/** One device certificate request, already validated by the caller. */
export interface DeviceCertRequest {
  /** The chip the certificate is for (its work order's chip); default 'atecc608'. */
  chip?: ChipKind;
  /** The chip's serial: 9 bytes (ATECC608) or the 18-byte unique id (SE050); the subject CN is its upper-case hex. */
  chipSerial: Uint8Array;
  /** The chip's P-256 public key, raw X‖Y (64 bytes), already checked on the curve. */
  publicKey: Uint8Array;
  /** Subject O. */
  product: string;
  /** Issue time; the ATECC608 profile truncates it to the hour (the compressed format carries hours), the SE050's to the second. */
  issuedAt: Date;
}

/** An issued device certificate. */
export interface IssuedCertificate {
  der: Uint8Array;
  /** Certificate serial number, lowercase hex, 16 bytes. */
  serialHex: string;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprintSha256: string;
  notBefore: Date;
  /** null for "no well-defined expiration" (99991231235959Z). */
  notAfter: Date | null;
}

/** Issues device certificates signed by the issuing CA. */
export interface DeviceIssuer {
  issue(req: DeviceCertRequest): Promise<IssuedCertificate>;
}
