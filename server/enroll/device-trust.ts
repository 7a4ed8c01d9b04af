/**
 * Checks a device certificate shown in a hello: it must be issued by this PKI's issuing CA (which
 * the server already verified against the root at start-up, ca/startup-checks.ts), be in its
 * validity period, and carry a P-256 key. The anchors are parsed once; a hello costs one parse
 * and one ECDSA verification.
 */
import { KeylineError } from '../../common/errors.js';
import * as x509 from '../../common/x509.js';
import { signedBy, toCert } from '../ca/chain.js';

/** A device certificate that passed the checks. */
export interface TrustedDeviceCert {
  der: Uint8Array;
  /** Raw P-256 X‖Y, 64 bytes (the form units.public_key stores). */
  publicKey: Uint8Array;
  /** Certificate serial number, lowercase hex. */
  serialHex: string;
}

/** Verifies device certificates against one issuing CA. */
export class DeviceTrust {
  readonly #issuing: x509.X509Certificate;
  readonly #issuerName: Buffer;

  constructor(issuingDer: Uint8Array) {
    this.#issuing = toCert(issuingDer);
    this.#issuerName = Buffer.from(this.#issuing.subjectName.toArrayBuffer());
  }

  /** The certificate's facts, or CERTIFICATE_UNTRUSTED naming the reason. */
  verify(der: Uint8Array, now: Date = new Date()): TrustedDeviceCert {
    let cert: x509.X509Certificate;
    try {
      cert = toCert(der);
    } catch (err) {
      throw new KeylineError('CERTIFICATE_UNTRUSTED', `deviceCertificate: not a DER X.509 certificate (${der.length} bytes)`, { cause: err });
    }
    const untrusted = (why: string) => new KeylineError('CERTIFICATE_UNTRUSTED', `deviceCertificate (serial ${cert.serialNumber}): ${why}`);
    // RFC 5280 §6.1.3 (a)(4) name chaining, (a)(1) signature, (a)(2) validity.
    if (!Buffer.from(cert.issuerName.toArrayBuffer()).equals(this.#issuerName)) throw untrusted(`issuer '${cert.issuer}' is not this PKI's issuing CA`);
    if (!signedBy(cert, this.#issuing)) throw untrusted('signature does not verify with the issuing CA key');
    if (now < cert.notBefore || now > cert.notAfter) throw untrusted(`outside its validity ${cert.notBefore.toISOString()}..${cert.notAfter.toISOString()}`);
    const spki = new Uint8Array(cert.publicKey.rawData);
    // P-256 SPKI with an uncompressed point is 91 bytes ending in 04‖X‖Y (RFC 5480 §2.2).
    if (spki.length !== 91 || spki[26] !== 0x04) throw untrusted('public key is not an uncompressed P-256 point');
    return { der, publicKey: spki.slice(27), serialHex: cert.serialNumber.toLowerCase() };
  }
}
