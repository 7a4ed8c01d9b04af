/**
 * cryptoauthlib's calib_* calls as frames: each method sends exactly the command (opcode, param1,
 * param2, data) the named calib_ function builds (lib/calib/calib_*.c, sizes from
 * calib_command.c's at* builders), one wake/command/idle per command as atca_execute_command
 * does, and returns the decoded answer. Multi-command flows (calib_write_config_zone,
 * calib_write_enc, calib_read_enc, calib_priv_write, calib_secureboot_mac, calib_verify_*_mac)
 * follow their functions step by step, with the host-side math in atcah.ts.
 */
import { execTimeMs } from '../../../../secure-element/exec-times.js';
import { decodeResponse, encodeCommand } from '../../../../secure-element/packet.js';
import type { Transport } from '../../../../secure-element/transport.js';
import type { Atecc608Chip } from '../../../../emulator/atecc608/chip.js';
import * as atcah from './atcah.js';

/** A decoded answer: `status` for a 4-byte answer, `data` always. */
export interface Answer {
  data: Uint8Array;
  status?: number;
}

/** Sends one command (count..CRC built here) and decodes the answer. */
export type Exec = (opcode: number, param1: number, param2: number, data?: Uint8Array | number[]) => Promise<Answer>;

/** An Exec over a Transport: wake, the command, idle (calib's atca_execute_command). */
export function transportExec(tr: Transport): Exec {
  return async (opcode, param1, param2, data = []) => {
    await tr.wake();
    try {
      const frame = encodeCommand({ opcode, param1, param2, data: Uint8Array.from(data) });
      return decodeResponse(await tr.transact(frame, execTimeMs(opcode)));
    } finally {
      await tr.idle();
    }
  };
}

/** An Exec straight into an awake chip model. */
export function chipExec(chip: Atecc608Chip): Exec {
  return async (opcode, param1, param2, data = []) => {
    const { response } = chip.execute(encodeCommand({ opcode, param1, param2, data: Uint8Array.from(data) }));
    if (!response) throw new Error('no response');
    return decodeResponse(response);
  };
}

const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

/** The calib_* surface the conformance suite drives. */
export class CalibHost {
  constructor(readonly exec: Exec) {}

  /** calib_info_base. */
  info(mode: number, param2 = 0): Promise<Answer> {
    return this.exec(0x30, mode, param2);
  }

  /** calib_read_zone: 4 or 32 bytes at a zone address (calib_get_addr). */
  readZone(zone: number, slot: number, block: number, word: number, len: 4 | 32): Promise<Answer> {
    return this.exec(0x02, zone | (len === 32 ? 0x80 : 0), addr(zone, slot, block, word));
  }

  /** calib_write_zone. */
  writeZone(zone: number, slot: number, block: number, word: number, data: Uint8Array): Promise<Answer> {
    return this.exec(0x12, zone | (data.length === 32 ? 0x80 : 0), addr(zone, slot, block, word), data);
  }

  /** calib_read_serial_number: config block 0, SN[0:3] and SN[4:8] made contiguous. */
  async serialNumber(): Promise<Uint8Array> {
    const b = (await this.readZone(0, 0, 0, 0, 32)).data;
    return cat(b.subarray(0, 4), b.subarray(8, 13));
  }

  /** calib_write_config_zone: bytes 16-127 by calib_write_bytes_zone (word 21 skipped), then UpdateExtra for bytes 84 and 85. */
  async writeConfigZone(config: Uint8Array): Promise<number[]> {
    const statuses: number[] = [];
    for (let block = 0; block < 4; block++) {
      if (block === 1 || block === 3) {
        statuses.push((await this.writeZone(0, 0, block, 0, config.subarray(block * 32, block * 32 + 32))).status!);
        continue;
      }
      for (let word = block === 0 ? 4 : 0; word < 8; word++) {
        if (block === 2 && word === 5) continue;
        const at = block * 32 + word * 4;
        statuses.push((await this.writeZone(0, 0, block, word, config.subarray(at, at + 4))).status!);
      }
    }
    statuses.push((await this.updateExtra(0, config[84]!)).status!);
    statuses.push((await this.updateExtra(1, config[85]!)).status!);
    return statuses;
  }

  /** calib_write_bytes_zone: whole blocks as 32-byte writes where they fit, 4-byte words elsewhere. */
  async writeBytesZone(zone: number, slot: number, offset: number, data: Uint8Array): Promise<number[]> {
    const out: number[] = [];
    for (let at = 0; at < data.length; ) {
      const pos = offset + at;
      const [block, word] = [pos >> 5, (pos & 31) >> 2];
      const len = word === 0 && data.length - at >= 32 ? 32 : 4;
      out.push((await this.writeZone(zone, slot, block, word, data.subarray(at, at + len))).status!);
      at += len;
    }
    return out;
  }

  /** calib_read_bytes_zone: 32-byte reads while a whole block remains in the zone, then 4-byte words. */
  async readBytesZone(zone: number, slot: number, offset: number, length: number, zoneSize: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; ) {
      const pos = offset + at;
      const whole = (pos & 31) === 0 && zoneSize - pos >= 32;
      const len = whole ? 32 : 4;
      const r = await this.readZone(zone, slot, pos >> 5, whole ? 0 : (pos & 31) >> 2, len);
      if (r.status !== undefined) throw new Error(`read answered ${r.status}`);
      out.set(r.data.subarray(0, Math.min(len, length - at)), at);
      at += len;
    }
    return out;
  }

  /** calib_write_pubkey: three 32-byte writes of the padded key. */
  async writePubkey(slot: number, xy: Uint8Array): Promise<number[]> {
    const padded = new Uint8Array(96);
    padded.set(xy.subarray(0, 32), 4);
    padded.set(xy.subarray(32, 64), 40);
    const out: number[] = [];
    for (let block = 0; block < 3; block++) out.push((await this.writeZone(2, slot, block, 0, padded.subarray(block * 32, block * 32 + 32))).status!);
    return out;
  }

  /** calib_read_pubkey: three 32-byte reads, pads dropped. */
  async readPubkey(slot: number): Promise<Uint8Array> {
    const b: Uint8Array[] = [];
    for (let block = 0; block < 3; block++) b.push((await this.readZone(2, slot, block, 0, 32)).data);
    return cat(b[0]!.subarray(4, 32), b[1]!.subarray(0, 4), b[1]!.subarray(8, 32), b[2]!.subarray(0, 8));
  }

  /** calib_lock_config_zone_crc / calib_lock_data_zone (no CRC) / calib_lock_data_slot. */
  lock(mode: number, crc = 0): Promise<Answer> {
    return this.exec(0x17, mode, crc);
  }

  /** calib_updateextra. */
  updateExtra(mode: number, value: number): Promise<Answer> {
    return this.exec(0x20, mode, value);
  }

  /** calib_nonce_rand (mode 0x00, 20-byte NumIn); `calc` sets param2 bit 15 (TempKey in place of RNG). */
  nonceRand(numIn: Uint8Array, calc = false): Promise<Answer> {
    return this.exec(0x16, 0x00, calc ? 0x8000 : 0, numIn);
  }

  /** calib_nonce_load: pass-through of 32 or 64 bytes into TempKey (0x00), MsgDigBuf (0x40) or AltKeyBuf (0x80). */
  nonceLoad(target: number, data: Uint8Array): Promise<Answer> {
    return this.exec(0x16, 0x03 | target | (data.length === 64 ? 0x20 : 0), 0, data);
  }

  /** calib_genkey_base. */
  genKey(mode: number, keyId: number, otherData?: Uint8Array): Promise<Answer> {
    return this.exec(0x40, mode, keyId, otherData ?? []);
  }

  /** calib_sign_base. */
  sign(mode: number, slot: number): Promise<Answer> {
    return this.exec(0x41, mode, slot);
  }

  /** calib_verify: data = signature ‖ (public key | OtherData). */
  verify(mode: number, keyId: number, signature: Uint8Array, extra: Uint8Array = new Uint8Array()): Promise<Answer> {
    return this.exec(0x45, mode, keyId, cat(signature, extra));
  }

  /** calib_gendig, with OtherData when given. */
  genDig(zone: number, keyId: number, otherData: Uint8Array | number[] = []): Promise<Answer> {
    return this.exec(0x15, zone, keyId, otherData);
  }

  /** calib_sha_base. */
  sha(mode: number, length: number, message: Uint8Array = new Uint8Array()): Promise<Answer> {
    return this.exec(0x47, mode, length, message);
  }

  /** calib_aes: 16 bytes (encrypt/decrypt) or 32 (GFM, key id 0). */
  aes(mode: number, keyId: number, input: Uint8Array): Promise<Answer> {
    return this.exec(0x51, mode, keyId, input);
  }

  /** calib_kdf: details (LE) then the message. */
  kdf(mode: number, keyId: number, details: number, message: Uint8Array): Promise<Answer> {
    return this.exec(0x56, mode, keyId, cat([details & 0xff, (details >> 8) & 0xff, (details >> 16) & 0xff, details >>> 24], message));
  }

  /** calib_secureboot: digest, plus the signature for Full/FullCopy (atSecureBoot sizes by mode). */
  secureBoot(mode: number, digest: Uint8Array, signature?: Uint8Array): Promise<Answer> {
    const withSig = (mode & 0x07) !== 0x06;
    return this.exec(0x80, mode, 0, withSig ? cat(digest, signature ?? new Uint8Array(64)) : digest);
  }

  /** calib_derivekey. */
  deriveKey(mode: number, target: number, mac?: Uint8Array): Promise<Answer> {
    return this.exec(0x1c, mode, target, mac ?? []);
  }

  /** calib_ecdh_base. */
  ecdh(mode: number, keyId: number, pub: Uint8Array): Promise<Answer> {
    return this.exec(0x43, mode, keyId, pub);
  }

  /** calib_counter. */
  counter(mode: number, id: number): Promise<Answer> {
    return this.exec(0x24, mode, id);
  }

  /** calib_checkmac. */
  checkMac(mode: number, keyId: number, challenge: Uint8Array, response: Uint8Array, other: Uint8Array): Promise<Answer> {
    return this.exec(0x28, mode, keyId, cat(challenge, response, other));
  }

  /** calib_selftest. */
  selfTest(mode: number): Promise<Answer> {
    return this.exec(0x77, mode, 0);
  }

  /** calib_write_enc: random Nonce, GenDig over the write key with OtherData, encrypted 32-byte Write with MAC. */
  async writeEnc(slot: number, block: number, plain: Uint8Array, encKey: Uint8Array, encKeyId: number, numIn = new Uint8Array(20)): Promise<Answer> {
    const sn = await this.serialNumber();
    const tk = await this.sessionKey(encKey, encKeyId, numIn, sn);
    const param1 = 0x80 | 0x40 | 0x02;
    const a = addr(2, slot, block, 0);
    const { cipher, mac } = atcah.writeAuthMac(tk, param1, a, sn, plain);
    return this.exec(0x12, param1, a, cat(cipher, mac));
  }

  /** calib_read_enc: random Nonce, GenDig over the read key with OtherData, 32-byte Read, decrypt. */
  async readEnc(slot: number, block: number, encKey: Uint8Array, encKeyId: number, numIn = new Uint8Array(20)): Promise<Answer> {
    const sn = await this.serialNumber();
    const tk = await this.sessionKey(encKey, encKeyId, numIn, sn);
    const r = await this.readZone(2, slot, block, 0, 32);
    return r.status === undefined ? { data: r.data.map((b, i) => b ^ tk[i]!) } : r;
  }

  /** calib_priv_write: clear (no write key) or encrypted with the write key. */
  async privWrite(slot: number, priv36: Uint8Array, writeKeyId?: number, writeKey?: Uint8Array, numIn = new Uint8Array(20)): Promise<Answer> {
    if (!writeKey || writeKeyId === undefined) return this.exec(0x46, 0x00, slot, cat(priv36, new Uint8Array(32)));
    const sn = await this.serialNumber();
    const tk = await this.sessionKey(writeKey, writeKeyId, numIn, sn);
    const { cipher, mac } = atcah.privWriteAuthMac(tk, slot, sn, priv36);
    return this.exec(0x46, 0x40, slot, cat(cipher, mac));
  }

  /** The TempKey a random Nonce then a data-zone GenDig (with cryptoauthlib's OtherData) leave. */
  async sessionKey(key: Uint8Array, keyId: number, numIn: Uint8Array, sn: Uint8Array): Promise<Uint8Array> {
    const randOut = (await this.nonceRand(numIn)).data;
    const other = [0x15, 0x02, keyId & 0xff, keyId >> 8];
    const g = await this.genDig(2, keyId, other);
    if (g.status !== 0) throw new Error(`GenDig answered ${g.status}`);
    return atcah.genDigData(atcah.nonceTempKey(randOut, numIn), key, keyId, sn);
  }
}

/** calib_get_addr. */
export function addr(zone: number, slot: number, block: number, word: number): number {
  return zone === 2 ? (block << 8) | (slot << 3) | word : (block << 3) | word;
}
