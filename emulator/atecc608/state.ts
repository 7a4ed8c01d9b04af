/**
 * Everything the chip remembers: the three EEPROM zones and counters (persistent), and TempKey,
 * the message-digest buffer, the SHA context and the wake state (volatile, lost on sleep).
 * Offsets follow the 608 config-zone map (datasheet §2.2, cryptoauthlib atca_config_608.h).
 */
import { decodeCounter, encodeCounter } from './counter-encoding.js';
import type { Sha256 } from './crypto/sha256.js';
import type { EccKey } from './ecc.js';

/** Size of each of the 16 data slots (datasheet §2.1: 0-7 36 bytes, 8 416 bytes, 9-15 72 bytes). */
export const SLOT_SIZES: readonly number[] = [36, 36, 36, 36, 36, 36, 36, 36, 416, 72, 72, 72, 72, 72, 72, 72];

/** Config-zone byte offsets used by the model. */
export const Cfg = {
  REVISION: 4,
  AES_ENABLE: 13,
  I2C_ADDRESS: 16,
  COUNT_MATCH: 18,
  CHIP_MODE: 19,
  SLOT_CONFIG: 20,
  COUNTER0: 52,
  COUNTER1: 60,
  VOLATILE_KEY_PERMISSION: 69,
  SECURE_BOOT: 70,
  KDF_IV_LOC: 72,
  KDF_IV_STR: 73,
  USER_EXTRA: 84,
  USER_EXTRA_ADD: 85,
  LOCK_VALUE: 86,
  LOCK_CONFIG: 87,
  SLOT_LOCKED: 88,
  CHIP_OPTIONS: 90,
  KEY_CONFIG: 96,
} as const;

/** Largest value of a monotonic counter (datasheet §"Monotonic counters": 2,097,151). */
export const COUNTER_MAX = 2_097_151;

/** TempKey and its flags (datasheet §"TempKey"). */
export interface TempKey {
  value: Uint8Array;
  valid: boolean;
  /** 0 = random (Nonce random mode), 1 = input (pass-through). */
  sourceFlag: 0 | 1;
  genDigData: boolean;
  genKeyData: boolean;
  noMacFlag: boolean;
  keyId: number;
  /**
   * A private key GenKey made into TempKey (KeyID 0xFFFF). TempKey is then not valid as data (no
   * command may read the scalar out through MAC, AES or Sign); only ECDH with a TempKey source uses it.
   */
  privateKey?: EccKey;
}

/** A fresh, invalid TempKey. */
export function invalidTempKey(): TempKey {
  return { value: new Uint8Array(64), valid: false, sourceFlag: 0, genDigData: false, genKeyData: false, noMacFlag: false, keyId: 0 };
}

/** A valid TempKey holding `value` (up to 64 bytes), marked as input rather than random (SourceFlag 1). */
export function inputTempKey(value: Uint8Array): TempKey {
  const tk = invalidTempKey();
  tk.value.set(value.subarray(0, 64));
  tk.valid = true;
  tk.sourceFlag = 1;
  return tk;
}

/** The persistent and volatile state of one chip. */
export class ChipState {
  readonly config = new Uint8Array(128);
  readonly otp = new Uint8Array(64);
  readonly slots: Uint8Array[] = SLOT_SIZES.map((n) => new Uint8Array(n));
  /** For a "cloned" part: the scalar GenKey puts in slot 0 instead of a random one. */
  cloneScalar: Uint8Array | undefined;

  // volatile
  tempKey: TempKey = invalidTempKey();
  msgDigestBuf: Uint8Array | undefined;
  altKeyBuf: Uint8Array | undefined;
  /** The SHA engine's context; `hmacKey` set for an HMAC (whose context cannot be read out). */
  sha: { hash: Sha256; hmacKey?: Uint8Array } | undefined;
  /** The slot whose key the last successful CheckMac proved (authorises the persistent latch). */
  authorizedSlot: number | undefined;
  // Kept across sleep, lost at power-down (a new model instance): the persistent latch (Info
  // mode 0x04) and SecureBoot's prohibit-until-power-cycle flag (mode bit 6).
  persistentLatch = false;
  secureBootProhibited = false;
  /** Per-slot private-key cache, so Sign does not re-derive the public key each time. */
  readonly keyCache = new Map<number, EccKey>();

  /** Value of monotonic counter `id` (0 or 1), decoded from its config bytes. */
  counter(id: 0 | 1): number {
    const at = id === 0 ? Cfg.COUNTER0 : Cfg.COUNTER1;
    return decodeCounter(this.config.subarray(at, at + 8));
  }

  /** Stores monotonic counter `id` in its config bytes (the chip updates them even after config lock). */
  setCounter(id: 0 | 1, value: number): void {
    this.config.set(encodeCounter(value), id === 0 ? Cfg.COUNTER0 : Cfg.COUNTER1);
  }

  /** Clears every volatile register (sleep, watchdog). */
  clearVolatile(): void {
    this.tempKey = invalidTempKey();
    this.msgDigestBuf = undefined;
    this.altKeyBuf = undefined;
    this.sha = undefined;
    this.authorizedSlot = undefined;
  }

  /** The 9-byte serial number (config bytes 0-3 and 8-12). */
  serialNumber(): Uint8Array {
    const sn = new Uint8Array(9);
    sn.set(this.config.subarray(0, 4), 0);
    sn.set(this.config.subarray(8, 13), 4);
    return sn;
  }

  /** True once the config zone is locked (LockConfig, byte 87, no longer 0x55). */
  configLocked(): boolean {
    return this.config[Cfg.LOCK_CONFIG] !== 0x55;
  }

  /** True once the data and OTP zones are locked (LockValue, byte 86, no longer 0x55). */
  dataLocked(): boolean {
    return this.config[Cfg.LOCK_VALUE] !== 0x55;
  }

  /** True when SlotLocked (bytes 88-89) marks `slot` as locked (bit cleared). */
  slotLocked(slot: number): boolean {
    const bits = this.config[Cfg.SLOT_LOCKED]! | (this.config[Cfg.SLOT_LOCKED + 1]! << 8);
    return (bits & (1 << slot)) === 0;
  }

  /** SlotConfig of `slot` (16-bit little-endian). */
  slotConfig(slot: number): SlotConfig {
    return decodeSlotConfig(this.config[Cfg.SLOT_CONFIG + 2 * slot]! | (this.config[Cfg.SLOT_CONFIG + 2 * slot + 1]! << 8));
  }

  /** KeyConfig of `slot` (16-bit little-endian). */
  keyConfig(slot: number): KeyConfig {
    return decodeKeyConfig(this.config[Cfg.KEY_CONFIG + 2 * slot]! | (this.config[Cfg.KEY_CONFIG + 2 * slot + 1]! << 8));
  }

  /** True when `slot` is configured as a P-256 private key. */
  isEccPrivate(slot: number): boolean {
    const kc = this.keyConfig(slot);
    return kc.private && kc.keyType === 4;
  }

  /** Stores a private scalar in a key slot (4 pad bytes then 32 bytes, as the chip lays out a P-256 key) and caches it. */
  storePrivateKey(slot: number, d: Uint8Array, key: EccKey): void {
    this.slots[slot]!.fill(0);
    this.slots[slot]!.set(d, 4);
    this.keyCache.set(slot, key);
  }
}

/** Decoded SlotConfig (datasheet §2.2.10). */
export interface SlotConfig {
  raw: number;
  readKey: number;
  noMac: boolean;
  limitedUse: boolean;
  encryptRead: boolean;
  isSecret: boolean;
  writeKey: number;
  writeConfig: number;
}

/** Decodes a 16-bit SlotConfig value. */
export function decodeSlotConfig(raw: number): SlotConfig {
  return {
    raw,
    readKey: raw & 0x0f,
    noMac: (raw & 0x10) !== 0,
    limitedUse: (raw & 0x20) !== 0,
    encryptRead: (raw & 0x40) !== 0,
    isSecret: (raw & 0x80) !== 0,
    writeKey: (raw >> 8) & 0x0f,
    writeConfig: (raw >> 12) & 0x0f,
  };
}

/** Decoded KeyConfig (datasheet §2.2.11). */
export interface KeyConfig {
  raw: number;
  private: boolean;
  pubInfo: boolean;
  keyType: number;
  lockable: boolean;
  reqRandom: boolean;
  reqAuth: boolean;
  authKey: number;
  /** Bit 12: the key is usable only while the persistent latch is set (VolatileKeyPermission). */
  persistentDisable: boolean;
}

/** Decodes a 16-bit KeyConfig value. */
export function decodeKeyConfig(raw: number): KeyConfig {
  return {
    raw,
    private: (raw & 0x01) !== 0,
    pubInfo: (raw & 0x02) !== 0,
    keyType: (raw >> 2) & 0x07,
    lockable: (raw & 0x20) !== 0,
    reqRandom: (raw & 0x40) !== 0,
    reqAuth: (raw & 0x80) !== 0,
    authKey: (raw >> 8) & 0x0f,
    persistentDisable: (raw & 0x1000) !== 0,
  };
}
