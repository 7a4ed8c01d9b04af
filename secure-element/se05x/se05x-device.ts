/**
 * The typed SE05x host driver over any ApduTransport: one method per applet command Keyline
 * uses (after NXP's Se05x_API_* and sss_se05x_* calls), response TLVs parsed, status words
 * mapped to SecureElementError (status.ts). Never logs; never puts key material in a message.
 * Calls are serialised: one APDU exchange at a time per device.
 */
import { SecureElementError } from '../../common/errors.js';
import { parseResponseApdu } from '../../common/se05x/apdu.js';
import { Curve, CurveParam, isReservedId, ObjectId, Tag, type AppletVersionName } from '../../common/se05x/applet-constants.js';
import { P256_PARAMS } from '../../common/se05x/p256-params.js';
import type { PolicyEntry } from '../../common/se05x/policy.js';
import { Sw } from '../../common/se05x/status-words.js';
import { beNumber, findTlv, parseTlvs, type Se05xTlv } from '../../common/se05x/tlv.js';
import type { ApduTransport } from './apdu-transport.js';
import * as cmd from './commands.js';
import { swError } from './status.js';

/** Bytes of data per WriteBinary, as the middleware chunks (sss: 500). */
export const BINARY_CHUNK = 500;

/** What an attested read returns: the command (its signed data includes it on 7.2) and the response body. */
export interface AttestedReadRaw {
  applet: AppletVersionName;
  /** The C-APDU as sent, without its Le field. */
  command: Uint8Array;
  /** The response data (TLVs), without the status word. */
  response: Uint8Array;
}

/** The typed driver for one SE05x. */
export class Se05xDevice {
  readonly transport: ApduTransport;
  #tail: Promise<unknown> = Promise.resolve();
  #applet: AppletVersionName | undefined;

  constructor(transport: ApduTransport) {
    this.transport = transport;
  }

  /** The applet version SELECT reported (undefined before `select`). */
  get applet(): AppletVersionName | undefined {
    return this.#applet;
  }

  /** Sends one C-APDU; the response data when the status is 9000, else the mapped error. */
  async transmit(capdu: Uint8Array, label: string): Promise<Uint8Array> {
    const run = this.#tail.then(async () => {
      const raw = await this.transport.transmit(capdu);
      const r = parseResponseApdu(raw);
      if (!r) throw new SecureElementError('SE05X_BAD_RESPONSE', `${label}: response of ${raw.length} bytes has no status word`);
      if (r.sw !== Sw.OK) throw swError(r.sw, label);
      return r.data;
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** SELECT the IoT applet; returns the 7 version bytes and remembers the applet family (3.x or 7.x). */
  async select(): Promise<Uint8Array> {
    const v = await this.transmit(cmd.selectApplet(), 'Select');
    if (v.length < 3) throw new SecureElementError('SE05X_BAD_RESPONSE', `Select: version of ${v.length} bytes`);
    this.#applet = v[0]! >= 7 ? '7.2' : '3.1';
    return v;
  }

  /** GetVersion: 7 bytes (major, minor, patch, AppletConfig, SecureBox). */
  async getVersion(): Promise<Uint8Array> {
    return this.#value(cmd.getVersion(), 'GetVersion', 7);
  }

  /** GetRandom: `n` bytes from the chip's RNG. */
  async getRandom(n: number): Promise<Uint8Array> {
    return this.#value(cmd.getRandom(n), `GetRandom ${n}`, n);
  }

  /** GetFreeMemory (persistent by default), capped at 0x7FFF by the applet. */
  async freeMemory(type: 1 | 2 | 3 = 1): Promise<number> {
    return beNumber(await this.#value(cmd.getFreeMemory(type), 'GetFreeMemory', 2));
  }

  /** GetTimestamp: 12 bytes. */
  async timestamp(): Promise<Uint8Array> {
    return this.#value(cmd.getTimestamp(), 'GetTimestamp', 12);
  }

  /** CheckObjectExists. */
  async exists(id: number): Promise<boolean> {
    return (await this.#value(cmd.checkObjectExists(id), `CheckObjectExists ${hexId(id)}`, 1))[0] === 0x01;
  }

  /** DeleteSecureObject. */
  async deleteObject(id: number): Promise<void> {
    await this.transmit(cmd.deleteSecureObject(id), `DeleteSecureObject ${hexId(id)}`);
  }

  /** ReadType: the type byte and whether the object is transient. */
  async readType(id: number): Promise<{ type: number; transient: boolean }> {
    const t = await this.#tlvs(cmd.readType(id), `ReadType ${hexId(id)}`);
    const type = need(t, Tag.T1, `ReadType ${hexId(id)}`, 1);
    const where = findTlv(t, Tag.T2);
    return { type: type[0]!, transient: where?.[0] === 0x02 };
  }

  /** ReadSize. */
  async readSize(id: number): Promise<number> {
    return beNumber(await this.#value(cmd.readSize(id), `ReadSize ${hexId(id)}`));
  }

  /** Every object id (ReadIDList, page after page). */
  async listObjects(filter = 0xff): Promise<number[]> {
    const out: number[] = [];
    for (let page = 0; page < 1024; page++) {
      const t = await this.#tlvs(cmd.readIdList(out.length, filter), 'ReadIDList');
      const more = need(t, Tag.T1, 'ReadIDList', 1)[0] === 0x02;
      const ids = findTlv(t, Tag.T2) ?? new Uint8Array(0);
      if (ids.length % 4 !== 0) throw new SecureElementError('SE05X_BAD_RESPONSE', `ReadIDList: id list of ${ids.length} bytes`);
      for (let i = 0; i < ids.length; i += 4) out.push(beNumber(ids.subarray(i, i + 4)) >>> 0);
      if (!more) return out;
      if (ids.length === 0) throw new SecureElementError('SE05X_BAD_RESPONSE', 'ReadIDList: "more" with an empty page');
    }
    throw new SecureElementError('SE05X_BAD_RESPONSE', 'ReadIDList: more than 1,024 pages');
  }

  /**
   * The DeleteAll sequence of the middleware (simw se05x_mw.c DeleteAll_Iterative): every
   * object the id list names except reserved ids (7FFFxxxx, 7DA0xxxx, Fxxxxxxx), then the crypto
   * object list. An object whose policy refuses deletion (SE05X_DENIED) is kept and reported,
   * as the middleware logs and goes on. Returns the ids deleted and those kept.
   */
  async deleteAll(): Promise<{ deleted: number[]; kept: number[] }> {
    const deleted: number[] = [];
    const kept: number[] = [];
    for (const id of await this.listObjects()) {
      if (isReservedId(id)) continue;
      try {
        await this.deleteObject(id);
        deleted.push(id);
      } catch (err) {
        if ((err as SecureElementError).code !== 'SE05X_DENIED') throw err;
        kept.push(id);
      }
    }
    await this.transmit(cmd.readCryptoObjectList(), 'ReadCryptoObjectList');
    return { deleted, kept };
  }

  /** ReadObject: the whole value, or a window of a binary file. EC keys read as 04‖X‖Y. */
  async readObject(id: number, w: { offset?: number; length?: number } = {}): Promise<Uint8Array> {
    return this.#value(cmd.readObject(id, w), `ReadObject ${hexId(id)}`);
  }

  /** A binary file whole, read in windows of at most `chunk` bytes. */
  async readBinary(id: number, chunk = BINARY_CHUNK): Promise<Uint8Array> {
    const size = await this.readSize(id);
    const out = new Uint8Array(size);
    for (let at = 0; at < size; at += chunk) out.set(await this.readObject(id, { offset: at, length: Math.min(chunk, size - at) }), at);
    return out;
  }

  /** Attested ReadObject by `attestKeyId` (NXP's F0000012 by default) over a 16-byte freshness. */
  async readAttested(id: number, freshness: Uint8Array, attestKeyId: number = ObjectId.ATTESTATION_KEY, w: { offset?: number; length?: number } = {}): Promise<AttestedReadRaw> {
    const capdu = cmd.readObjectAttested(id, attestKeyId, freshness, w);
    const response = await this.transmit(capdu, `ReadObject attested ${hexId(id)}`);
    // The extended Le (00 00) is the last two bytes: the 7.2 applet hashes the command without it.
    return { applet: this.#applet ?? '3.1', command: capdu.subarray(0, capdu.length - 2), response };
  }

  /**
   * Makes P-256 usable, as the middleware does before its first P-256 key: reads the curve list
   * and, when P-256 is not set, creates it and sets A, B, G, N and the prime.
   */
  async ensureP256(): Promise<void> {
    const list = await this.#value(cmd.readCurveList(), 'ReadECCurveList');
    if (list[Curve.NIST_P256 - 1] === 0x02) return;
    await this.transmit(cmd.createCurve(Curve.NIST_P256), 'CreateECCurve P-256').catch((err: SecureElementError) => {
      // Created but its parameters unset (an earlier run stopped half-way): go on with them.
      if (err.status !== Sw.CONDITIONS_NOT_SATISFIED) throw err;
    });
    for (const p of [CurveParam.A, CurveParam.B, CurveParam.G, CurveParam.N, CurveParam.PRIME]) {
      await this.transmit(cmd.setCurveParam(Curve.NIST_P256, p, P256_PARAMS[p]!), `SetECCurveParam P-256 ${p}`);
    }
  }

  /** WriteECKey generating a P-256 pair inside the chip with `policy` (on a new id). */
  async generateEcKey(id: number, policy?: readonly PolicyEntry[]): Promise<void> {
    await this.transmit(cmd.generateEcKey(id, policy), `WriteECKey generate ${hexId(id)}`);
  }

  /** WriteECKey importing a key pair (`d`, 04‖X‖Y) or a public key. */
  async importEcKey(id: number, key: { d?: Uint8Array; pub: Uint8Array }, policy?: readonly PolicyEntry[]): Promise<void> {
    await this.transmit(cmd.importEcKey(id, key, policy), `WriteECKey import ${hexId(id)}`);
  }

  /**
   * Writes a new binary file: the first WriteBinary creates it with its size and policy, the rest
   * follow in `chunk`-byte writes (which the policy must allow: WRITE). A file that fits one APDU
   * is created whole, so a READ-only policy is enough.
   */
  async writeBinary(id: number, data: Uint8Array, policy?: readonly PolicyEntry[], chunk = BINARY_CHUNK): Promise<void> {
    if (data.length === 0) throw new SecureElementError('ATCA_BAD_PARAM', `binary object ${hexId(id)} must not be empty`);
    const first = data.subarray(0, chunk);
    await this.transmit(cmd.writeBinary(id, first, { size: data.length, ...(policy ? { policy } : {}) }), `WriteBinary create ${hexId(id)}`);
    for (let at = first.length; at < data.length; at += chunk) {
      await this.transmit(cmd.writeBinary(id, data.subarray(at, at + chunk), { offset: at }), `WriteBinary ${hexId(id)} at ${at}`);
    }
  }

  /** Creates a counter of `size` bytes (value 0). */
  async createCounter(id: number, size: number, policy?: readonly PolicyEntry[]): Promise<void> {
    await this.transmit(cmd.createCounter(id, size, policy), `Counter create ${hexId(id)}`);
  }

  /** Adds one to a counter. */
  async incrementCounter(id: number): Promise<void> {
    await this.transmit(cmd.incrementCounter(id), `Counter increment ${hexId(id)}`);
  }

  /** A counter's value (ReadObject, big-endian). */
  async readCounter(id: number): Promise<bigint> {
    const v = await this.readObject(id);
    return v.length === 0 ? 0n : BigInt('0x' + Buffer.from(v).toString('hex'));
  }

  /** ECDSASign of a 32-byte SHA-256 digest: the DER signature. */
  async sign(id: number, digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== 32) throw new SecureElementError('ATCA_BAD_PARAM', `digest must be 32 bytes, got ${digest.length}`);
    return this.#value(cmd.ecdsaSign(id, digest), `ECDSASign ${hexId(id)}`);
  }

  /** ECDSAVerify of a DER signature over a SHA-256 digest. */
  async verify(id: number, digest: Uint8Array, derSignature: Uint8Array): Promise<boolean> {
    return (await this.#value(cmd.ecdsaVerify(id, digest, derSignature), `ECDSAVerify ${hexId(id)}`, 1))[0] === 0x01;
  }

  /** DigestOneShot SHA-256 on the chip. */
  async sha256(data: Uint8Array): Promise<Uint8Array> {
    return this.#value(cmd.digestOneShot(data), 'DigestOneShot', 32);
  }

  /** Closes the transport. */
  close(): Promise<void> {
    return this.transport.close();
  }

  async #tlvs(capdu: Uint8Array, label: string): Promise<Se05xTlv[]> {
    const data = await this.transmit(capdu, label);
    const t = parseTlvs(data);
    if (!t) throw new SecureElementError('SE05X_BAD_RESPONSE', `${label}: response is not TLVs`);
    return t;
  }

  /** The value of tag 41, of `len` bytes when given. */
  async #value(capdu: Uint8Array, label: string, len?: number): Promise<Uint8Array> {
    return need(await this.#tlvs(capdu, label), Tag.T1, label, len);
  }
}

/** An object id as 8 hex digits. */
export const hexId = (id: number): string => (id >>> 0).toString(16).toUpperCase().padStart(8, '0');

function need(t: readonly Se05xTlv[], tag: number, label: string, len?: number): Uint8Array {
  const v = findTlv(t, tag);
  if (!v) throw new SecureElementError('SE05X_BAD_RESPONSE', `${label}: no tag ${tag.toString(16)} in the response`);
  if (len !== undefined && v.length !== len) throw new SecureElementError('SE05X_BAD_RESPONSE', `${label}: tag ${tag.toString(16)} of ${v.length} bytes, expected ${len}`);
  return v;
}
