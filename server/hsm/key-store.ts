/**
 * The key-management seam (after step-ca's KeyManager): the CA logic sees only these interfaces,
 * so another HSM vendor or a cloud KMS can be added without touching server/ca.
 */

/** Curves Keyline issues with. */
export type KeyCurve = 'P-256' | 'P-384';

/** A private key that can sign but never leaves its store. */
export interface Signer {
  /** The key's `pkcs11:` URI (or another store's reference). */
  readonly keyRef: string;
  readonly curve: KeyCurve;
  /** The public key as DER SubjectPublicKeyInfo. */
  publicKeySpki(): Promise<Uint8Array>;
  /** ECDSA over SHA-256 (P-256) or SHA-384 (P-384) of `message`; returns raw r‖s. */
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** ECDSA over an already computed digest; returns raw r‖s. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
}

/** What to generate. */
export interface GenerateKeyRequest {
  label: string;
  curve: KeyCurve;
  /** CKA_ID as hex; derived from the label when absent. */
  id?: string;
}

/** A store of private keys addressed by reference. */
export interface KeyStore {
  getSigner(ref: string): Promise<Signer>;
  /** Generates a non-extractable key pair; returns its reference. */
  generateKeyPair(req: GenerateKeyRequest): Promise<string>;
  close(): Promise<void>;
}
