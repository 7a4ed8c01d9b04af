/**
 * The host driver: a typed async API over any Transport, one method per chip operation, shaped
 * after cryptoauthlib's atcab_* calls (lib/calib/*.c). Never logs; never puts key material in an
 * error message.
 */
import { padPublicKey, storedPublicKeyPadFault, STORED_PUBLIC_KEY_BYTES, unpadPublicKey } from '../common/atecc-public-key.js';
import { SecureElementError } from '../common/errors.js';
import { crc16 } from './crc.js';
import { CommandRunner, type RunnerOptions, type Session } from './command-runner.js';
import { Opcode } from './opcodes.js';
import { Status } from './status.js';
import type { Transport } from './transport.js';
import { checkSlot, chunks, CONFIG_SIZE, slotSize, Zone, zoneAddress, type ZoneId } from './zone-address.js';

export { Zone, type ZoneId } from './zone-address.js';

/** Where a pass-through Nonce puts its data (608: param1 bits 6-7). */
export type NonceTarget = 'tempkey' | 'msgdigbuf' | 'altkeybuf';
const NONCE_TARGET: Record<NonceTarget, number> = { tempkey: 0x00, msgdigbuf: 0x40, altkeybuf: 0x80 };

/** The typed host driver for one ATECC608. */
export class AteccDevice {
  readonly #run: CommandRunner;

  constructor(transport: Transport, opts: RunnerOptions = {}) {
    this.#run = new CommandRunner(transport, opts);
  }

  /** The transport underneath (to close it or to reach an emulated chip in tests). */
  get transport(): Transport {
    return this.#run.transport;
  }

  /** Info: mode 0 returns the 4-byte revision (00 00 60 02 on a 608A, 00 00 60 03 on a 608B). */
  async info(mode = 0, param2 = 0): Promise<Uint8Array> {
    return this.#one((s) => s.command(Opcode.INFO, mode, param2, undefined, `Info mode ${mode}`, { expect: 4 }));
  }

  /** The 9-byte serial number: config bytes 0-3 and 8-12. */
  async serialNumber(): Promise<Uint8Array> {
    const block0 = await this.read(Zone.CONFIG, 0, 0, 0, 32);
    const sn = new Uint8Array(9);
    sn.set(block0.subarray(0, 4), 0);
    sn.set(block0.subarray(8, 13), 4);
    return sn;
  }

  /** Reads 4 or 32 bytes at a block/word address of a zone (slot used only for the data zone). */
  async read(zone: ZoneId, slot: number, block: number, offset: number, len: 4 | 32): Promise<Uint8Array> {
    const addr = zoneAddress(zone, slot, block, offset, len);
    const p1 = zone | (len === 32 ? 0x80 : 0);
    return this.#one((s) => s.command(Opcode.READ, p1, addr, undefined, `Read zone ${zone} slot ${slot} block ${block} word ${offset}`, { expect: len }));
  }

  /** Writes 4 or 32 bytes (clear text) at a block/word address of a zone. */
  async write(zone: ZoneId, slot: number, block: number, offset: number, data: Uint8Array): Promise<void> {
    if (data.length !== 4 && data.length !== 32) throw new SecureElementError('ATCA_BAD_PARAM', `write data must be 4 or 32 bytes, got ${data.length}`);
    const addr = zoneAddress(zone, slot, block, offset, data.length);
    const p1 = zone | (data.length === 32 ? 0x80 : 0);
    return this.#one(async (s) => {
      await s.command(Opcode.WRITE, p1, addr, data, `Write zone ${zone} slot ${slot} block ${block} word ${offset}`);
    });
  }

  /** Reads `length` bytes from `start` of a zone (multiples of 4), split as cryptoauthlib does. */
  async readBytes(zone: ZoneId, slot: number, start: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    const parts = chunks(start, length);
    await this.#run.run(async (s) => {
      for (const c of parts) {
        const addr = zoneAddress(zone, slot, c.block, c.offset, c.len);
        out.set(await s.command(Opcode.READ, zone | (c.len === 32 ? 0x80 : 0), addr, undefined, `Read zone ${zone} slot ${slot} block ${c.block} word ${c.offset}`, { expect: c.len, standalone: true }), c.at);
      }
    });
    return out;
  }

  /** Writes `data` at `start` of a zone (multiples of 4), split as cryptoauthlib does. */
  async writeBytes(zone: ZoneId, slot: number, start: number, data: Uint8Array): Promise<void> {
    const parts = chunks(start, data.length);
    await this.#run.run(async (s) => {
      for (const c of parts) {
        const addr = zoneAddress(zone, slot, c.block, c.offset, c.len);
        await s.command(Opcode.WRITE, zone | (c.len === 32 ? 0x80 : 0), addr, data.subarray(c.at, c.at + c.len), `Write zone ${zone} slot ${slot} block ${c.block} word ${c.offset}`, { standalone: true });
      }
    });
  }

  /** Reads a whole data slot (36, 416 or 72 bytes). */
  async readSlot(slot: number): Promise<Uint8Array> {
    return this.readBytes(Zone.DATA, slot, 0, slotSize(slot));
  }

  /** Writes a whole data slot, or its first `data.length` bytes (a multiple of 4). */
  async writeSlot(slot: number, data: Uint8Array): Promise<void> {
    if (data.length > slotSize(slot)) throw new SecureElementError('ATCA_BAD_PARAM', `slot ${slot} holds ${slotSize(slot)} bytes, got ${data.length}`);
    return this.writeBytes(Zone.DATA, slot, 0, data);
  }

  /** Reads the 128-byte config zone (four 32-byte reads). */
  async readConfigZone(): Promise<Uint8Array> {
    return this.readBytes(Zone.CONFIG, 0, 0, CONFIG_SIZE);
  }

  /**
   * Writes config bytes 16-127 (pass 128 bytes, of which 0-15 are ignored, or the 112 bytes
   * 16-127). Bytes 0-15 are read-only and word 21 (bytes 84-87: UserExtra, UserExtraAdd and the
   * lock bytes) changes only by UpdateExtra and Lock, so, as cryptoauthlib's write_config_zone,
   * this skips them.
   */
  async writeConfigZone(config: Uint8Array): Promise<void> {
    let full: Uint8Array;
    if (config.length === CONFIG_SIZE) full = config;
    else if (config.length === CONFIG_SIZE - 16) (full = new Uint8Array(CONFIG_SIZE)).set(config, 16);
    else throw new SecureElementError('ATCA_BAD_PARAM', `config must be 128 bytes or bytes 16-127 (112), got ${config.length}`);
    await this.#run.run(async (s) => {
      // Block 1 and 3 go as 32-byte writes; blocks 0 and 2 word by word around the fixed words.
      for (let word = 4; word < 32; word++) {
        if (word === 21) continue;
        const block = word >> 3;
        if ((block === 1 || block === 3) && (word & 7) === 0) {
          await s.command(Opcode.WRITE, Zone.CONFIG | 0x80, block << 3, full.subarray(block * 32, block * 32 + 32), `Write config block ${block}`, { standalone: true });
          word += 7;
          continue;
        }
        await s.command(Opcode.WRITE, Zone.CONFIG, (block << 3) | (word & 7), full.subarray(word * 4, word * 4 + 4), `Write config word ${word}`, { standalone: true });
      }
    });
  }

  /** Locks the config zone: with `crc` (the CRC-16 of all 128 config bytes) checked, else unchecked. */
  async lockConfigZone(crc?: number): Promise<void> {
    return this.#lock(crc === undefined ? 0x80 : 0x00, crc ?? 0, 'Lock config zone', () => this.isLocked('config'));
  }

  /** Locks the data and OTP zones: with `crc` (the datasheet's data-zone summary) checked, else unchecked. */
  async lockDataZone(crc?: number): Promise<void> {
    return this.#lock(crc === undefined ? 0x81 : 0x01, crc ?? 0, 'Lock data zone', () => this.isLocked('data'));
  }

  /** Locks one slot (KeyConfig.Lockable must be set and the data zone locked). */
  async lockSlot(slot: number): Promise<void> {
    checkSlot(slot);
    return this.#lock(0x02 | (slot << 2), 0, `Lock slot ${slot}`, () => this.isSlotLocked(slot));
  }

  /** True when the config or the data zone is locked (config bytes 87 / 86 no longer 0x55). */
  async isLocked(zone: 'config' | 'data'): Promise<boolean> {
    const word = await this.read(Zone.CONFIG, 0, 2, 5, 4); // bytes 84-87
    return (zone === 'config' ? word[3] : word[2]) !== 0x55;
  }

  /** True when `slot`'s bit in SlotLocked (config bytes 88-89) is cleared. */
  async isSlotLocked(slot: number): Promise<boolean> {
    checkSlot(slot);
    const word = await this.read(Zone.CONFIG, 0, 2, 6, 4); // bytes 88-91
    const bits = word[0]! | (word[1]! << 8);
    return (bits & (1 << slot)) === 0;
  }

  /** Random: 32 bytes (the fixed FF FF 00 00 pattern while the config zone is unlocked). */
  async random(): Promise<Uint8Array> {
    return this.#one((s) => s.command(Opcode.RANDOM, 0, 0, undefined, 'Random', { expect: 32 }));
  }

  /** Random Nonce (mode 0, seed update) with a 20-byte host input; returns the 32-byte RandOut. */
  async nonceRandom(numIn: Uint8Array): Promise<Uint8Array> {
    if (numIn.length !== 20) throw new SecureElementError('ATCA_BAD_PARAM', `random nonce input must be 20 bytes, got ${numIn.length}`);
    return this.#one((s) => s.command(Opcode.NONCE, 0x00, 0, numIn, 'Nonce random', { expect: 32 }));
  }

  /** Pass-through Nonce (mode 3): loads 32 (or 64) bytes into TempKey or another buffer. */
  async nonceLoad(data: Uint8Array, target: NonceTarget = 'tempkey'): Promise<void> {
    return this.#run.run((s) => nonceLoad(s, data, target));
  }

  /** GenKey mode 0x04: creates a private key in `slot`; returns its 64-byte public key X||Y. */
  async genKey(slot: number): Promise<Uint8Array> {
    checkSlot(slot);
    return this.#one((s) => s.command(Opcode.GENKEY, 0x04, slot, undefined, `GenKey slot ${slot}`, { expect: 64 }));
  }

  /** GenKey mode 0x00: the public key X||Y of the private key in `slot`. */
  async getPublicKey(slot: number): Promise<Uint8Array> {
    checkSlot(slot);
    return this.#one((s) => s.command(Opcode.GENKEY, 0x00, slot, undefined, `GenKey public slot ${slot}`, { expect: 64 }));
  }

  /** Signs a 32-byte digest with the key in `slot` (pass-through Nonce, then Sign external 0x80); returns r||s. */
  async signDigest(slot: number, digest: Uint8Array): Promise<Uint8Array> {
    checkSlot(slot);
    checkLen('digest', digest, 32);
    return this.#run.run(async (s) => {
      await nonceLoad(s, digest, 'tempkey');
      return s.command(Opcode.SIGN, 0x80, slot, undefined, `Sign external slot ${slot}`, { expect: 64 });
    });
  }

  /** Verify external (mode 0x02, P-256): true when `signature` (r||s) over `digest` checks against `publicKey` (X||Y). */
  async verifyExtern(digest: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
    checkLen('digest', digest, 32);
    checkLen('signature', signature, 64);
    checkLen('public key', publicKey, 64);
    const data = new Uint8Array(128);
    data.set(signature, 0);
    data.set(publicKey, 64);
    return this.#run.run(async (s) => {
      await nonceLoad(s, digest, 'tempkey');
      const r = await s.command(Opcode.VERIFY, 0x02, 0x0004, data, 'Verify external', { accept: (st) => st === Status.MISCOMPARE });
      return r[0] === Status.SUCCESS;
    });
  }

  /** Counter read: the current value of counter 0 or 1. */
  async counterRead(id: 0 | 1): Promise<number> {
    return this.#counter(0x00, id);
  }

  /** Counter increment: adds one to counter 0 or 1 and returns the new value (never retried once executed). */
  async counterIncrement(id: 0 | 1): Promise<number> {
    return this.#counter(0x01, id);
  }

  /** SHA-256 of `data` on the chip (SHA start, 64-byte updates, end). */
  async sha256(data: Uint8Array): Promise<Uint8Array> {
    return this.#run.run(async (s) => {
      await s.command(Opcode.SHA, 0x00, 0, undefined, 'SHA start');
      let pos = 0;
      for (; pos + 64 <= data.length; pos += 64) await s.command(Opcode.SHA, 0x01, 64, data.subarray(pos, pos + 64), 'SHA update');
      const rest = data.subarray(pos);
      return s.command(Opcode.SHA, 0x02, rest.length, rest, 'SHA end', { expect: 32 });
    });
  }

  /** ECDH with the private key in `slot` and a peer public key X||Y; returns the 32-byte shared x-coordinate (output in clear). */
  async ecdh(slot: number, peerPublicKey: Uint8Array): Promise<Uint8Array> {
    checkSlot(slot);
    checkLen('peer public key', peerPublicKey, 64);
    // Mode 0x0C: result to the output buffer (608 ECDH_MODE_COPY_OUTPUT_BUFFER), unencrypted.
    return this.#one((s) => s.command(Opcode.ECDH, 0x0c, slot, peerPublicKey, `ECDH slot ${slot}`, { expect: 32 }));
  }

  /** SelfTest: runs the tests in `mode` (0x3B all); resolves with the failure bitmap, 0 when all pass. */
  async selfTest(mode = 0x3b): Promise<number> {
    return this.#one(async (s) => {
      const r = await s.command(Opcode.SELFTEST, mode, 0, undefined, `SelfTest mode 0x${mode.toString(16)}`, { accept: (st) => !LINK_STATUSES.has(st), expect: 1 });
      return r[0]!;
    });
  }

  /** UpdateExtra: mode 0 sets UserExtra (byte 84), 1 UserExtraAdd (byte 85), once each after config lock. */
  async updateExtra(mode: 0 | 1, value: number): Promise<void> {
    return this.#one(async (s) => {
      await s.command(Opcode.UPDATE_EXTRA, mode, value & 0xff, undefined, `UpdateExtra mode ${mode}`);
    });
  }

  /**
   * Reads a public key stored in a slot's 72-byte format (atcab_read_pubkey); returns X||Y.
   * Stricter than cryptoauthlib, which ignores the pad: ATCA_BAD_RESPONSE when the pad is not one a
   * chip holds for a key written in this format (zero, bar a validation state), i.e. the slot holds
   * something else (a compressed certificate is 72 bytes too) or the read was corrupted.
   */
  async readPublicKeySlot(slot: number): Promise<Uint8Array> {
    if (slot < 8) throw new SecureElementError('ATCA_BAD_PARAM', `public keys live in slots 8-15, got ${slot}`);
    const stored = await this.readBytes(Zone.DATA, slot, 0, STORED_PUBLIC_KEY_BYTES);
    const fault = storedPublicKeyPadFault(stored);
    if (fault) throw new SecureElementError('ATCA_BAD_RESPONSE', `slot ${slot} does not hold a public key in the 72-byte stored format: ${fault}`);
    return unpadPublicKey(stored);
  }

  /** Writes X||Y into a slot in the 72-byte stored format, pad bytes zero (atcab_write_pubkey). */
  async writePublicKeySlot(slot: number, publicKey: Uint8Array): Promise<void> {
    if (slot < 8) throw new SecureElementError('ATCA_BAD_PARAM', `public keys live in slots 8-15, got ${slot}`);
    return this.writeBytes(Zone.DATA, slot, 0, padPublicKey(publicKey));
  }

  /** Closes the transport. */
  close(): Promise<void> {
    return this.#run.transport.close();
  }

  #one<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    return this.#run.run(fn);
  }

  async #counter(mode: 0 | 1, id: 0 | 1): Promise<number> {
    if (id !== 0 && id !== 1) throw new SecureElementError('ATCA_BAD_PARAM', `counter id must be 0 or 1, got ${String(id)}`);
    const label = `Counter ${mode ? 'increment' : 'read'} ${id}`;
    const r = await this.#run.run((s) => s.command(Opcode.COUNTER, mode, id, undefined, label, { expect: 4 }), mode ? 'not-executed' : 'idempotent');
    return (r[0]! | (r[1]! << 8) | (r[2]! << 16) | (r[3]! << 24)) >>> 0;
  }

  async #lock(mode: number, crc: number, label: string, isDone: () => Promise<boolean>): Promise<void> {
    // A lock whose answer was lost may have happened: if a retry then says "execution error",
    // the zone being locked now is the success the first attempt never reported.
    let tried = false;
    try {
      await this.#run.run(async (s) => {
        const again = tried;
        tried = true;
        try {
          await s.command(Opcode.LOCK, mode, crc, undefined, label);
        } catch (err) {
          if (!again || (err as SecureElementError).code !== 'ATCA_EXECUTION_ERROR') throw err;
          throw new LockMaybeDone(err as SecureElementError);
        }
      });
    } catch (err) {
      if (err instanceof LockMaybeDone) {
        if (await isDone()) return;
        throw err.original;
      }
      throw err;
    }
  }
}

/** Marks a retried Lock answered with 0x0F, to be settled by reading the lock bytes. */
class LockMaybeDone extends Error {
  constructor(readonly original: SecureElementError) {
    super(original.message);
  }
}

// Statuses that are never a SelfTest bitmap: the command did not run or was refused.
const LINK_STATUSES = new Set<number>([Status.PARSE_ERROR, Status.EXECUTION_ERROR, Status.AFTER_WAKE, Status.WATCHDOG, Status.COMM_ERROR]);

async function nonceLoad(s: Session, data: Uint8Array, target: NonceTarget): Promise<void> {
  if (data.length !== 32 && data.length !== 64) throw new SecureElementError('ATCA_BAD_PARAM', `pass-through nonce must be 32 or 64 bytes, got ${data.length}`);
  const mode = 0x03 | (data.length === 64 ? 0x20 : 0) | NONCE_TARGET[target];
  await s.command(Opcode.NONCE, mode, 0, data, `Nonce pass-through (${target})`);
}

function checkLen(name: string, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new SecureElementError('ATCA_BAD_PARAM', `${name} must be ${n} bytes, got ${b.length}`);
}

/** The Lock summary CRC of a zone image (CRC-16 over the bytes, as the Lock command checks it). */
export function lockSummaryCrc(bytes: Uint8Array): number {
  return crc16(bytes);
}
