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

/** What a store lets a private key do and reveal (PKCS#11 v2.40 §4.9 attributes); a CA key is sensitive, never extractable, sign-only. */
export interface KeyUsageAttributes {
  sensitive: boolean;
  extractable: boolean;
  sign: boolean;
  decrypt: boolean;
  unwrap: boolean;
  derive: boolean;
}

/** One private key found in a store, as the start-up guards inspect it. */
export interface StoredKey {
  label: string;
  /** The key's id (CKA_ID for a token), lowercase hex. */
  idHex: string;
  /** undefined for curves (or key types) Keyline does not use. */
  curve?: KeyCurve;
  /** The matching public key's SPKI, when the store holds one. */
  publicKeySpki?: Uint8Array;
  /** Signs a digest with this key (proof of possession, independent of any public object). */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
  usage: KeyUsageAttributes;
}

/** A store of private keys addressed by reference. */
export interface KeyStore {
  /** True when the keys live in an HSM (a PKCS#11 token; SoftHSM stands in during development). */
  readonly hardware: boolean;
  getSigner(ref: string): Promise<Signer>;
  /** Generates a non-extractable key pair; returns its reference. */
  generateKeyPair(req: GenerateKeyRequest): Promise<string>;
  /** Every private key in the store (the start-up guards: no root key on the line, CA key usage). */
  listPrivateKeys(): Promise<StoredKey[]>;
  close(): Promise<void>;
}
