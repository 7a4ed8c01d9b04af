/**
 * An ApduTransport over T=1 on I²C (the SE050's own bus; pnt phNxpEseProto7816_3.c): opening is
 * a RESYNCH then a GET ATR; a C-APDU goes out as chained I-blocks of at most IFSC bytes (each
 * acknowledged by an R-block), the R-APDU comes back as I-blocks the host acknowledges; a WTX
 * request is answered in kind; a block lost or damaged is asked again with an R-block, a few
 * times, then the link fails with SE05X_COMM_ERROR. The bus itself is an I2cLink, so this runs
 * against real hardware drivers and against a test double alike.
 */
import { SecureElementError } from '../../../common/errors.js';
import type { ApduTransport } from '../apdu-transport.js';
import { decodeBlock, encodeBlock, IFSC, RError, SType, type T1Block } from './t1-block.js';

/** The I²C bus to one SE at address 0x48: whole frames out, whole frames in. */
export interface I2cLink {
  /** Writes one frame (NAD through CRC). */
  write(frame: Uint8Array): Promise<void>;
  /** Reads one frame (NAD, PCB, LEN, then LEN + 2 bytes), polling until the SE answers or the link times out. */
  read(): Promise<Uint8Array>;
  close(): Promise<void>;
}

const comm = (msg: string) => new SecureElementError('SE05X_COMM_ERROR', `T=1: ${msg}`);

/** T=1 over an I2cLink. */
export class T1Transport implements ApduTransport {
  readonly #link: I2cLink;
  readonly #retries: number;
  #ns: 0 | 1 = 0;
  #nr: 0 | 1 = 0;
  #tail: Promise<unknown> = Promise.resolve();
  /** The ATR the SE answered to GET ATR. */
  atr: Uint8Array = new Uint8Array(0);

  private constructor(link: I2cLink, retries: number) {
    this.#link = link;
    this.#retries = retries;
  }

  /** Opens the protocol: RESYNCH (sequence numbers back to 0) then GET ATR. */
  static async open(link: I2cLink, opts: { retries?: number } = {}): Promise<T1Transport> {
    const t = new T1Transport(link, opts.retries ?? 3);
    await t.#sRequest(SType.RESYNCH);
    t.atr = await t.#sRequest(SType.GET_ATR);
    return t;
  }

  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    const run = this.#tail.then(() => this.#transceive(capdu));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    return this.#link.close();
  }

  async #sRequest(type: number): Promise<Uint8Array> {
    const rsp = await this.#exchange({ kind: 'S', response: false, type, inf: new Uint8Array(0) });
    if (rsp.kind !== 'S' || !rsp.response || rsp.type !== type) throw comm(`no S(${type}) response`);
    if (type === SType.RESYNCH) this.#ns = this.#nr = 0;
    return rsp.inf;
  }

  async #transceive(capdu: Uint8Array): Promise<Uint8Array> {
    let reply: T1Block | undefined;
    for (let at = 0; at < capdu.length; at += IFSC) {
      const chunk = capdu.subarray(at, at + IFSC);
      const more = at + IFSC < capdu.length;
      reply = await this.#exchange({ kind: 'I', ns: this.#ns, more, inf: chunk });
      this.#ns = (this.#ns ^ 1) as 0 | 1;
      if (more && !(reply.kind === 'R' && reply.nr === this.#ns && reply.error === RError.NONE)) throw comm('chained I-block not acknowledged');
    }
    const parts: Uint8Array[] = [];
    for (;;) {
      if (!reply || reply.kind !== 'I') throw comm(`expected an I-block, got ${reply?.kind ?? 'nothing'}`);
      if (reply.ns !== this.#nr) throw comm('I-block out of sequence');
      this.#nr = (this.#nr ^ 1) as 0 | 1;
      parts.push(reply.inf);
      if (!reply.more) break;
      reply = await this.#exchange({ kind: 'R', nr: this.#nr, error: RError.NONE });
    }
    return Uint8Array.from(Buffer.concat(parts));
  }

  /** Sends `block` and returns the SE's answer, answering WTX requests and asking again for damaged answers. */
  async #exchange(block: T1Block): Promise<T1Block> {
    let frame = encodeBlock(block);
    for (let attempt = 0; ; ) {
      await this.#link.write(frame);
      for (;;) {
        const d = decodeBlock(await this.#link.read());
        if (!d.ok) {
          if (++attempt > this.#retries) throw comm(`answer unusable (${d.error}) ${attempt} times`);
          frame = encodeBlock({ kind: 'R', nr: this.#nr, error: d.error === 'crc' ? RError.CRC : RError.OTHER });
          break;
        }
        const b = d.block;
        if (b.kind === 'S' && !b.response && b.type === SType.WTX) {
          await this.#link.write(encodeBlock({ kind: 'S', response: true, type: SType.WTX, inf: b.inf }));
          continue;
        }
        if (b.kind === 'R' && b.error !== RError.NONE && block.kind !== 'R') {
          // The SE did not get our block: send it again.
          if (++attempt > this.#retries) throw comm(`SE reported error ${b.error} ${attempt} times`);
          frame = encodeBlock(block);
          break;
        }
        return b;
      }
    }
  }
}
