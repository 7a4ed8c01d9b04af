/**
 * The one secure-element seam: what the production line (station) and the device (firmware-sim)
 * need from a chip, whichever chip a product carries. Two implementations, each over its own
 * driver: Atecc608SecureElement (kit protocol; atecc608-secure-element.ts) and
 * Se05xSecureElement (APDUs over JRCP/TCP or T=1/I²C; se05x/se05x-secure-element.ts). Both pass
 * the shared suite test/secure-element/secure-element.suite.ts.
 *
 * The provisioning order every implementation supports, each step safe to repeat on a part a
 * killed station left half-way (read `state()` first on resume):
 *
 *   1. `prepare()`            608: write + lock the config zone, lock the data zone.
 *                             SE050: select the applet, make P-256 usable, create the counter.
 *   2. `generateKey()`        the device key, made inside the chip; never twice (the chip
 *                             refuses: 608 slot lock after finalise / SE050 sign-only policy);
 *                             on resume use `publicKey()`.
 *   3. (server issues the certificate for `identity().serialHex` and the public key;
 *       for SE050 units the station sends `attest(nonce)` with the request)
 *   4. `writeCertificates()`  then `readCertificates()` to compare.
 *   5. `finalise()`           608: lock the key and certificate slots. SE050: check the objects
 *                             (their creation policies already make them immutable).
 *
 * In the field: `identity()`, `readCertificates()`, `counterIncrement()` then `signDigest()` for
 * an enrollment proof. Errors are SecureElementError / KeylineError with stable codes
 * (ATCA_* for the 608, SE05X_* for the SE050; SE05X_DENIED is a policy refusal).
 */

import type { ChipKind } from '../common/chip-serial.js';

/** The chips Keyline provisions (common/chip-serial.ts); a work order names one. */
export type { ChipKind };

/** Who the chip is. */
export interface ChipIdentity {
  chip: ChipKind;
  /** The chip's unique serial: 9 bytes on the 608 (config 0-3, 8-12), the 18-byte unique id (object 7FFF0206) on the SE050. */
  serial: Uint8Array;
  /** Upper-case hex of `serial`: what device certificates name as subject CN and MQTT uses as client id. */
  serialHex: string;
}

/** A device certificate and its chain, DER, issuing CA first (the root, a trust anchor, need not be stored). */
export interface DeviceCertificates {
  device: Uint8Array;
  chain: Uint8Array[];
}

/** Where a part is in the provisioning order (for resuming a unit). */
export interface ProvisioningState {
  /** Step 1 done. */
  prepared: boolean;
  /** A device key exists (step 2 done: never generate again). */
  keyPresent: boolean;
  /** A device certificate is stored. */
  certificatesWritten: boolean;
  /** Step 5 done. */
  finalised: boolean;
}

/**
 * Key-origin evidence from an SE050: an attested ReadObject of the device key, signed by the
 * part's NXP attestation key (F0000012), plus that key's certificate (F0000013). Verify with
 * `verifySe05xAttestation` (se05x/attestation-verify.ts) against the manufacturer root: it proves
 * the public key belongs to a key object of this chip (UID), generated inside it (origin 02),
 * with the policy it reports (sign-only, not exportable), read fresh for `freshness`.
 */
export interface Se050AttestationEvidence {
  chip: 'se050';
  format: 'se05x-attested-read';
  /** The applet layout of the signed data (3.x or 7.2, reference/se050.md §6). */
  applet: '3.1' | '7.2';
  /** The attested object (the device key id). */
  objectId: number;
  /** The 16 bytes of freshness the verifier chose. */
  freshness: Uint8Array;
  /** The C-APDU as sent, without Le (the 7.2 applet signs its hash). */
  command: Uint8Array;
  /** The response data (TLVs) without the status word. */
  response: Uint8Array;
  /** The attestation key's certificate (object F0000013), DER, zero padding removed. */
  attestationCertificate: Uint8Array;
}

/**
 * What an ATECC608 as Keyline provisions it can show: nothing signed by a manufacturer key
 * (the parts carry none; a 608 with a Microchip-provisioned attestation key could give a
 * GenKey-digest internal Sign). The serial, the public key and the locked config zone it reports
 * are claims of the chip the station talks to, not proof for a remote verifier.
 */
export interface Atecc608AttestationEvidence {
  chip: 'atecc608';
  format: 'atecc608-unattested';
  serial: Uint8Array;
  publicKey: Uint8Array;
  /** The 128-byte config zone (slot and key policies, lock bytes). */
  configZone: Uint8Array;
}

/** Key-origin evidence of either chip. */
export type AttestationEvidence = Se050AttestationEvidence | Atecc608AttestationEvidence;

/** One secure element, as the line and the device use it. */
export interface SecureElement {
  readonly chip: ChipKind;
  /** The chip's serial. */
  identity(): Promise<ChipIdentity>;
  /** Where the part is in the provisioning order. */
  state(): Promise<ProvisioningState>;
  /** Step 1 (idempotent). */
  prepare(): Promise<void>;
  /** Step 2: generates the device key inside the chip; its public key X‖Y (64 bytes). Refused once a key exists. */
  generateKey(): Promise<Uint8Array>;
  /** The device key's public key X‖Y (64 bytes). */
  publicKey(): Promise<Uint8Array>;
  /** Stores the device certificate and chain (a part already holding exactly these is left alone). */
  writeCertificates(certs: DeviceCertificates): Promise<void>;
  /** The stored certificates, DER (the 608 rebuilds them from its compressed form). */
  readCertificates(): Promise<DeviceCertificates>;
  /** ECDSA P-256 signature of a 32-byte digest with the device key: raw r‖s (64 bytes) on both chips. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
  /** Adds one to the enrollment counter; the new value (monotonic, survives power loss). */
  counterIncrement(): Promise<number>;
  /** The enrollment counter's value. */
  counterRead(): Promise<number>;
  /** Step 5 (idempotent). */
  finalise(): Promise<void>;
  /** Key-origin evidence for the device key, fresh for `nonce` (16 bytes). */
  attest(nonce: Uint8Array): Promise<AttestationEvidence>;
  /** Closes the link underneath. */
  close(): Promise<void>;
}
