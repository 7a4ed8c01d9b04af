/**
 * Certificate definitions as plain data, shaped after cryptoauthlib's atcacert_def_t
 * (lib/atcacert/atcacert_def.h): a template DER certificate plus the offset and length of every
 * element that varies, so a firmware engineer can transcribe a definition into C unchanged.
 */

/** Serial-number sources, the high nibble of compressed byte 70 (atcacert_cert_sn_src_t). */
export const SnSource = {
  /** Serial read from a device location, or (count 0) left as the template has it. */
  STORED: 0x0,
  STORED_DYNAMIC: 0x7,
  /** 0x40 followed by the 9-byte chip serial. */
  DEVICE_SN: 0x8,
  /** 0x40 followed by the 2-byte signer ID. */
  SIGNER_ID: 0x9,
  /** SHA-256(public key ‖ encoded dates), first byte forced to 01xxxxxx. */
  PUB_KEY_HASH: 0xa,
  /** SHA-256(chip serial ‖ encoded dates), first byte forced to 01xxxxxx. */
  DEVICE_SN_HASH: 0xb,
  PUB_KEY_HASH_POS: 0xc,
  DEVICE_SN_HASH_POS: 0xd,
  PUB_KEY_HASH_RAW: 0xe,
  DEVICE_SN_HASH_RAW: 0xf,
} as const;
/** One of the SnSource codes. */
export type SnSourceCode = (typeof SnSource)[keyof typeof SnSource];

/** Date formats of certificate date elements (atcacert_date_format_t indices). */
export const DateFormat = {
  ISO8601_SEP: 0,
  /** RFC 5280 §4.1.2.5.1 UTCTime YYMMDDhhmmssZ, 13 bytes. */
  RFC5280_UTC: 1,
  POSIX_UINT32_BE: 2,
  POSIX_UINT32_LE: 3,
  /** RFC 5280 §4.1.2.5.2 GeneralizedTime YYYYMMDDhhmmssZ, 15 bytes. */
  RFC5280_GEN: 4,
} as const;
/** One of the DateFormat codes. */
export type DateFormatCode = (typeof DateFormat)[keyof typeof DateFormat];

/** Where an element sits inside the template certificate (atcacert_cert_loc_t). */
export interface CertLoc {
  offset: number;
  /** 0 means the element is absent from this certificate. */
  count: number;
}

/** Where data sits on the chip (atcacert_device_loc_t). */
export interface DeviceLoc {
  zone: 'config' | 'otp' | 'data' | 'none';
  slot: number;
  /** Obtain by GenKey (public-key mode) instead of Read. */
  isGenkey: boolean;
  offset: number;
  count: number;
}

/** A transform applied to device data before it lands in the certificate (atcacert_transform_t). */
export type Transform = 'none' | 'bin2hexUpper' | 'bin2hexLower';

/** A custom element copied from the chip into the certificate (atcacert_cert_element_t). */
export interface CertElement {
  id: string;
  deviceLoc: DeviceLoc;
  certLoc: CertLoc;
  transforms: Transform[];
}

/** The standard elements every X.509 definition names (atcacert_std_cert_element_t order). */
export interface StdElements {
  publicKey: CertLoc;
  /** The signatureValue BIT STRING, tag included, to the end of the certificate. */
  signature: CertLoc;
  issueDate: CertLoc;
  expireDate: CertLoc;
  /** 4 uppercase hex characters. */
  signerId: CertLoc;
  certSn: CertLoc;
  authKeyId: CertLoc;
  subjKeyId: CertLoc;
}

/** A certificate definition: template plus element locations, as atcacert_def_t. */
export interface CertDef {
  /** A name for logs and C export. */
  name: string;
  /** 4 bits, carried in compressed byte 69 (high nibble). */
  templateId: number;
  /** 4 bits, carried in compressed byte 69 (low nibble). */
  chainId: number;
  snSource: SnSourceCode;
  issueDateFormat: DateFormatCode;
  expireDateFormat: DateFormatCode;
  /** Validity in whole years the definition is made for; 0 = no expiration. */
  expireYears: number;
  privateKeySlot: number;
  certSnDevLoc: DeviceLoc;
  publicKeyDevLoc: DeviceLoc;
  compCertDevLoc: DeviceLoc;
  tbsCertLoc: CertLoc;
  std: StdElements;
  elements: CertElement[];
  /** A complete certificate whose variable elements hold placeholders. */
  template: Uint8Array;
}

/** A location that does not exist on the chip. */
export const NO_DEVICE_LOC: DeviceLoc = Object.freeze({ zone: 'none', slot: 0, isGenkey: false, offset: 0, count: 0 });

/** An absent certificate element. */
export const NO_CERT_LOC: CertLoc = Object.freeze({ offset: 0, count: 0 });

/** Size of a compressed certificate in bytes (P-256). */
export const COMP_CERT_SIZE = 72;
