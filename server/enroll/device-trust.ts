/**
 * Checks a device certificate shown in a hello: it must be issued by this PKI's issuing CA (which
 * the server already verified against the root at start-up, ca/startup-checks.ts), be in its
 * validity period, and carry a P-256 key. A certificate in the form this CA issues is checked by
 * issued-cert-check.ts (DER reader, one ECDSA verification); anything else by node's native
 * X509Certificate, which decides every refusal (the generic ASN.1 parser was once the hello's
 * bottleneck, then OpenSSL's own parse and key export were). Chaining and the key are a pure
 * function of the DER, so a certificate that passed is remembered by its SHA-256 (bounded): a
 * device's later hellos cost one hash and the validity check. Revocation is not part of this:
 * the service checks it against the database on every hello.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { certificateFingerprint } from '../../common/protocol/enrollment.js';
import { BoundedCache } from './bounded-cache.js';
import { checkIssuedFast, issuingCaFacts, recordedIssuedFacts, type IssuingCaFacts } from './issued-cert-check.js';

/** A device certificate that passed the checks. */
export interface TrustedDeviceCert {
  der: Uint8Array;
  /** Raw P-256 X‖Y, 64 bytes (the form units.public_key stores). */
  publicKey: Uint8Array;
  /** Certificate serial number, lowercase hex without leading zeros. */
  serialHex: string;
  /** SHA-256 of `der`, lowercase hex (what a nonce is bound to). */
  fingerprint: string;
}

/** What a verified certificate is remembered by: its facts and its validity period. */
interface Verified {
  publicKey: Uint8Array;
  serialHex: string;
  notBefore: number;
  notAfter: number;
}

/** Certificates remembered per DeviceTrust by default (one device's is ~200 bytes here). */
export const DEFAULT_TRUST_CACHE_ENTRIES = 50_000;

/** Verifies device certificates against one issuing CA. */
export class DeviceTrust {
  readonly #issuing: X509Certificate;
  readonly #issuingKey: KeyObject;
  readonly #ca: IssuingCaFacts | undefined;
  readonly #verified: BoundedCache<string, Verified>;

  constructor(issuingDer: Uint8Array, opts: { cacheEntries?: number } = {}) {
    this.#issuing = new X509Certificate(Buffer.from(issuingDer));
    this.#issuingKey = this.#issuing.publicKey;
    try {
      this.#ca = issuingCaFacts(issuingDer, this.#issuingKey);
    } catch {
      this.#ca = undefined; // a CA certificate the DER reader refuses: every check takes the full path
    }
    this.#verified = new BoundedCache(opts.cacheEntries ?? DEFAULT_TRUST_CACHE_ENTRIES);
  }

  /** The certificate's facts, or CERTIFICATE_UNTRUSTED naming the reason. */
  verify(der: Uint8Array, now: Date = new Date()): TrustedDeviceCert {
    const fingerprint = fingerprintOf(der);
    let v = this.#verified.get(fingerprint);
    if (!v) {
      v = this.#check(der);
      this.#verified.set(fingerprint, v);
    }
    return this.#valid(der, fingerprint, v, now);
  }

  /**
   * The certificate's fingerprint, and its facts when it passed here before (validity checked
   * now: CERTIFICATE_UNTRUSTED outside it); no facts for one not seen yet.
   */
  remembered(der: Uint8Array, now: Date = new Date()): { fingerprint: string; cert?: TrustedDeviceCert } {
    const fingerprint = fingerprintOf(der);
    const v = this.#verified.get(fingerprint);
    return v ? { fingerprint, cert: this.#valid(der, fingerprint, v, now) } : { fingerprint };
  }

  /**
   * For a certificate the store recorded as the unit's own (its fingerprint matched): its facts
   * without a signature check when this CA issued it (issued-cert-check.ts recordedIssuedFacts),
   * remembered as verify's are; null when the full check must decide (call verify).
   */
  recorded(der: Uint8Array, fingerprint: string, now: Date = new Date()): TrustedDeviceCert | null {
    const facts = this.#ca ? recordedIssuedFacts(der, this.#ca) : null;
    if (!facts) return null;
    const v: Verified = facts;
    this.#verified.set(fingerprint, v);
    return this.#valid(der, fingerprint, v, now);
  }

  #valid(der: Uint8Array, fingerprint: string, v: Verified, now: Date): TrustedDeviceCert {
    // RFC 5280 §6.1.3 (a)(2): validity is a question of the moment, asked every time.
    const t = now.getTime();
    if (t < v.notBefore || t > v.notAfter) {
      throw new KeylineError('CERTIFICATE_UNTRUSTED', `deviceCertificate (serial ${v.serialHex}): outside its validity ${iso(v.notBefore)}..${iso(v.notAfter)}`);
    }
    return { der, publicKey: v.publicKey, serialHex: v.serialHex, fingerprint };
  }

  /** Parses and chains a certificate not seen before. */
  #check(der: Uint8Array): Verified {
    const fast = this.#ca ? checkIssuedFast(der, this.#ca) : null;
    if (fast) return fast;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(der));
    } catch (err) {
      throw new KeylineError('CERTIFICATE_UNTRUSTED', `deviceCertificate: not a DER X.509 certificate (${der.length} bytes)`, { cause: err });
    }
    const untrusted = (why: string) => new KeylineError('CERTIFICATE_UNTRUSTED', `deviceCertificate (serial ${cert.serialNumber}): ${why}`);
    // RFC 5280 §6.1.3 (a)(4) name chaining (checkIssued also compares the AKI), (a)(1) signature.
    if (!cert.checkIssued(this.#issuing)) throw untrusted(`issuer '${(cert.issuer ?? '(unreadable)').replace(/\n/g, ', ')}' is not this PKI's issuing CA`);
    if (!cert.verify(this.#issuingKey)) throw untrusted('signature does not verify with the issuing CA key');
    const spki = new Uint8Array(cert.publicKey.export({ format: 'der', type: 'spki' }));
    // P-256 SPKI with an uncompressed point is 91 bytes ending in 04‖X‖Y (RFC 5480 §2.2).
    if (cert.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1' || spki.length !== 91 || spki[26] !== 0x04) {
      throw untrusted('public key is not an uncompressed P-256 point');
    }
    return {
      publicKey: spki.slice(27), serialHex: cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
      notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo),
    };
  }
}

const fingerprintOf = (der: Uint8Array) => Buffer.from(certificateFingerprint(der)).toString('hex');

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));
