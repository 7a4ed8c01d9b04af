/**
 * The SE05x IoT applet's vocabulary, as NXP's host library names it (simw se05x_const.h,
 * se05x_enums.h, se05x_03_xx_xx/se05x_APDU_impl.h; digested in reference/se050.md §3-§5):
 * instruction bytes, P1 object classes, P2 operations, TLV tags, object types, policy access
 * rules and the reserved object ids. Shared by the emulator and the host driver so the two never
 * disagree on a byte.
 */

/** The applet AID (SELECT `00 A4 04 00 10 <AID>`). */
export const APPLET_AID = Uint8Array.from(Buffer.from('A0000003965453000000010300000000', 'hex'));

/** CLA of applet commands (SELECT and GlobalPlatform use 00). */
export const CLA = 0x80;

/** INS: the low nibble is the command class, the high bits flags. */
export const Ins = {
  WRITE: 0x01,
  READ: 0x02,
  CRYPTO: 0x03,
  MGMT: 0x04,
  /** Flag: the object is transient (RAM). */
  TRANSIENT: 0x80,
  /** Flag: the object is an authentication object. */
  AUTH_OBJECT: 0x40,
  /** Flag: attested (signed) response. */
  ATTEST: 0x20,
  SELECT: 0xa4,
} as const;

/** P1: key part (high bits) | object class (low bits). */
export const P1 = {
  DEFAULT: 0x00,
  EC: 0x01,
  BINARY: 0x06,
  COUNTER: 0x08,
  CURVE: 0x0b,
  SIGNATURE: 0x0c,
  CRYPTO_OBJ: 0x10,
  PUBLIC: 0x20,
  PRIVATE: 0x40,
  PAIR: 0x60,
  /** Mask of the class bits. */
  CLASS_MASK: 0x1f,
  /** Mask of the key-part bits. */
  PART_MASK: 0x60,
} as const;

/** P2: the operation. */
export const P2 = {
  DEFAULT: 0x00,
  GENERATE: 0x03,
  CREATE: 0x04,
  SIZE: 0x07,
  SIGN: 0x09,
  VERIFY: 0x0a,
  ONESHOT: 0x0e,
  VERSION: 0x20,
  MEMORY: 0x22,
  LIST: 0x25,
  TYPE: 0x26,
  EXIST: 0x27,
  DELETE_OBJECT: 0x28,
  ID: 0x36,
  TIME: 0x3d,
  TRANSPORT: 0x3e,
  PARAM: 0x40,
  RANDOM: 0x49,
} as const;

/** TLV tags. */
export const Tag = {
  POLICY: 0x11,
  MAX_ATTEMPTS: 0x12,
  T1: 0x41,
  T2: 0x42,
  T3: 0x43,
  T4: 0x44,
  T5: 0x45,
  T6: 0x46,
  T7: 0x47,
  TIMESTAMP: 0x4f,
  SIGNATURE: 0x52,
} as const;

/** Object types ReadType answers (3.x; the 7.x applet reports P-256 keys as 29/2A/2B). */
export const ObjectType = {
  EC_KEY_PAIR: 0x01,
  EC_PRIV_KEY: 0x02,
  EC_PUB_KEY: 0x03,
  BINARY_FILE: 0x0b,
  USERID: 0x0c,
  COUNTER: 0x0d,
  CURVE: 0x10,
  EC_KEY_PAIR_P256_7X: 0x29,
  EC_PRIV_KEY_P256_7X: 0x2a,
  EC_PUB_KEY_P256_7X: 0x2b,
} as const;

/** Where an object's value came from (attested attributes' last byte). */
export const Origin = { EXTERNAL: 0x01, INTERNAL: 0x02, PROVISIONED: 0x03 } as const;

/** Curve ids (SE05x_ECCurve_t); only P-256 is modelled. */
export const Curve = { NIST_P256: 0x03 } as const;

/** Curve parameter selectors of SetECCurveParam (tag 42). */
export const CurveParam = { A: 0x01, B: 0x02, G: 0x04, N: 0x08, PRIME: 0x10 } as const;

/** ECSignatureAlgo: ECDSA over a digest the host gives, by its hash. */
export const SigAlgo = { ECDSA_PLAIN: 0x09, ECDSA_SHA: 0x11, ECDSA_SHA_256: 0x21, ECDSA_SHA_384: 0x22, ECDSA_SHA_512: 0x26 } as const;

/** DigestMode of DigestOneShot. */
export const DigestAlgo = { SHA1: 0x01, SHA256: 0x04, SHA384: 0x05, SHA512: 0x06 } as const;

/** Policy access-rule bits (simw se05x_const.h POLICY_OBJ_*; reference/se050.md §5). */
export const Ar = {
  FORBID_ALL: 0x20000000,
  SIGN: 0x10000000,
  VERIFY: 0x08000000,
  KA: 0x04000000,
  ENC: 0x02000000,
  DEC: 0x01000000,
  WRAP: 0x00400000,
  READ: 0x00200000,
  WRITE: 0x00100000,
  GEN: 0x00080000,
  DELETE: 0x00040000,
  REQUIRE_SM: 0x00020000,
  REQUIRE_PCR: 0x00010000,
  ATTESTATION: 0x00008000,
  IMPORT_EXPORT: 0x00001000,
} as const;

/** The rules of an object created without a policy: all of them, bar FORBID_ALL, REQUIRE_SM and REQUIRE_PCR. */
export const DEFAULT_AR = 0x1f7c9000;

/** The session auth id that policy entries for "any session" carry. */
export const ANY_SESSION = 0x00000000;

/** Reserved and NXP-provisioned object ids. */
export const ObjectId = {
  /** The chip's 18-byte unique id (binary, read-only). */
  UNIQUE_ID: 0x7fff0206,
  TRANSPORT_LOCK_AUTH: 0x7fff0200,
  FACTORY_RESET_AUTH: 0x7fff0205,
  /** NXP's ECC attestation key (P-256) and its certificate. */
  ATTESTATION_KEY: 0xf0000012,
  ATTESTATION_CERT: 0xf0000013,
} as const;

/**
 * True for ids a host's DeleteAll skips (simw se05x_mw.c DeleteAll_Iterative): 7FFFxxxx
 * (applet-reserved), 7DA0xxxx (authentication objects) and Fxxxxxxx (NXP-provisioned).
 */
export function isReservedId(id: number): boolean {
  const top16 = id >>> 16;
  return top16 === 0x7fff || top16 === 0x7da0 || id >>> 28 === 0xf;
}

/** Applet versions the emulator models: the 7-byte SELECT / GetVersion answer. */
export const AppletVersion = {
  /** SE050 (A/C) applet 3.1.0, AppletConfig 6FFF, SecureBox 010B. */
  '3.1': Uint8Array.of(0x03, 0x01, 0x00, 0x6f, 0xff, 0x01, 0x0b),
  /** SE050E applet 7.2.0, AppletConfig 3FFF, SecureBox 010B. */
  '7.2': Uint8Array.of(0x07, 0x02, 0x00, 0x3f, 0xff, 0x01, 0x0b),
} as const;

/** An applet version the emulator can be. */
export type AppletVersionName = keyof typeof AppletVersion;

/** Largest APDU body each applet takes (reference/se050.md §3: 892 on 3.x, 1,024 on 7.x). */
export function maxBody(applet: AppletVersionName): number {
  return applet === '3.1' ? 892 : 1024;
}
