/**
 * Checks a device certificate shown in a hello: it must be issued by this PKI's issuing CA (which
 * the server already verified against the root at start-up, ca/startup-checks.ts), be in its
 * validity period, and carry a P-256 key. Uses node's native X509Certificate: a hello costs one
 * native parse and one ECDSA verification (the generic ASN.1 parser was the hello's bottleneck).
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';

/** A device certificate that passed the checks. */
export interface TrustedDeviceCert {
  der: Uint8Array;
  /** Raw P-256 X‖Y, 64 bytes (the form units.public_key stores). */
  publicKey: Uint8Array;
  /** Certificate serial number, lowercase hex without leading zeros. */
  serialHex: string;
}

/** Verifies device certificates against one issuing CA. */
export class DeviceTrust {
  readonly #issuing: X509Certificate;
  readonly #issuingKey: KeyObject;

  constructor(issuingDer: Uint8Array) {
    this.#issuing = new X509Certificate(Buffer.from(issuingDer));
    this.#issuingKey = this.#issuing.publicKey;
  }

  /** The certificate's facts, or CERTIFICATE_UNTRUSTED naming the reason. */
  verify(der: Uint8Array, now: Date = new Date()): TrustedDeviceCert {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(der));
    } catch (err) {
      throw new KeylineError('CERTIFICATE_UNTRUSTED', `deviceCertificate: not a DER X.509 certificate (${der.length} bytes)`, { cause: err });
    }
    const untrusted = (why: string) => new KeylineError('CERTIFICATE_UNTRUSTED', `deviceCertificate (serial ${cert.serialNumber}): ${why}`);
    // RFC 5280 §6.1.3 (a)(4) name chaining (checkIssued also compares the AKI), (a)(1) signature, (a)(2) validity.
    if (!cert.checkIssued(this.#issuing)) throw untrusted(`issuer '${(cert.issuer ?? '(unreadable)').replace(/\n/g, ', ')}' is not this PKI's issuing CA`);
    if (!cert.verify(this.#issuingKey)) throw untrusted('signature does not verify with the issuing CA key');
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) throw untrusted(`outside its validity ${cert.validFrom}..${cert.validTo}`);
    const spki = new Uint8Array(cert.publicKey.export({ format: 'der', type: 'spki' }));
    // P-256 SPKI with an uncompressed point is 91 bytes ending in 04‖X‖Y (RFC 5480 §2.2).
    if (cert.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1' || spki.length !== 91 || spki[26] !== 0x04) {
      throw untrusted('public key is not an uncompressed P-256 point');
    }
    return { der, publicKey: spki.slice(27), serialHex: cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, '') };
  }
}
