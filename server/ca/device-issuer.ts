/**
 * The device-certificate seam between provisioning and the CA: plain data in, DER out.
 * Implemented by the DER-template issuer (fast path, compressed-certificate compatible).
 */

/** One device certificate request, already validated by the caller. */
export interface DeviceCertRequest {
  /** The chip's 9-byte serial number; the subject CN is its 18 uppercase hex digits. */
  chipSerial: Uint8Array;
  /** The chip's P-256 public key, raw X‖Y (64 bytes), already checked on the curve. */
  publicKey: Uint8Array;
  /** Subject O. */
  product: string;
  /** Issue time; the issuer truncates it to the hour (the compressed format carries hours). */
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
