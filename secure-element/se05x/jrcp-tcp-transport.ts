/**
 * JRCP v1 over TCP (simw smComSocket_fd.c, the link NXP's middleware uses for
 * `-DPTMW_SMCOM=JRCP_V1`): connect, WAIT_FOR_CARD (the reply carries the ATR), then one APDU
 * message per C-APDU. TCP_NODELAY, a per-exchange timeout, one exchange at a time.
 */
import { connect, type Socket } from 'node:net';
import { SecureElementError } from '../../common/errors.js';
import { encodeJrcp, JrcpDecoder, JrcpType, type JrcpMessage } from '../../common/se05x/jrcp.js';
import type { ApduTransport } from './apdu-transport.js';

/** Options of a JRCP link. */
export interface JrcpTcpOptions {
  host: string;
  port: number;
  /** Per-message timeout, ms (default 10,000: a generated key takes ~100 ms on a real part). */
  timeoutMs?: number;
}

/** An open JRCP v1 link to one card. */
export class JrcpTcpTransport implements ApduTransport {
  readonly #socket: Socket;
  readonly #timeoutMs: number;
  readonly #decoder = new JrcpDecoder();
  #waiting: { resolve: (m: JrcpMessage) => void; reject: (e: Error) => void } | undefined;
  #inbox: JrcpMessage[] = [];
  #dead: Error | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** Set when this end closes the socket (close(), a timeout), so `linkLost` means the other end or the network. */
  #ownEnd = false;
  #lost = false;
  /** The ATR the server reported for WAIT_FOR_CARD. */
  atr: Uint8Array = new Uint8Array(0);

  private constructor(socket: Socket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.#decoder.push(new Uint8Array(chunk))) {
        const w = this.#waiting;
        this.#waiting = undefined;
        if (w) w.resolve(m);
        else this.#inbox.push(m);
      }
    });
    const fail = (err: Error) => {
      this.#dead ??= err;
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.reject(this.#dead);
    };
    socket.on('error', (err) => fail(new SecureElementError('SE05X_COMM_ERROR', `JRCP link: ${err.message}`, { cause: err })));
    socket.on('close', () => {
      this.#lost ||= !this.#ownEnd;
      fail(new SecureElementError('SE05X_COMM_ERROR', 'JRCP link closed by the server'));
    });
  }

  /**
   * True once the server or the network ended the link (not this end: a reply that never came
   * also ends it, but that is the card's silence): a failure then is the link's, not the card's.
   */
  get linkLost(): boolean {
    return this.#lost;
  }

  /** Connects and waits for the card. */
  static async connect(o: JrcpTcpOptions): Promise<JrcpTcpTransport> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: o.host, port: o.port, noDelay: true });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', (err) => reject(new SecureElementError('SE05X_COMM_ERROR', `cannot connect to JRCP server ${o.host}:${o.port}: ${err.message}`, { cause: err })));
    });
    const t = new JrcpTcpTransport(socket, o.timeoutMs ?? 10_000);
    try {
      // simw sends a 4-byte wait time (256 ms) with WAIT_FOR_CARD.
      const m = await t.#exchange(JrcpType.WAIT_FOR_CARD, Uint8Array.of(0x00, 0x00, 0x01, 0x00));
      t.atr = m.payload;
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return t;
  }

  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    return this.#exchange(JrcpType.APDU, capdu).then((m) => m.payload);
  }

  async close(): Promise<void> {
    if (this.#socket.destroyed) return;
    this.#ownEnd = true;
    await new Promise<void>((resolve) => {
      this.#socket.once('close', () => resolve());
      this.#socket.end(encodeJrcp(JrcpType.CLOSE));
      setTimeout(() => this.#socket.destroy(), 500).unref();
    });
  }

  #exchange(mty: number, payload: Uint8Array): Promise<JrcpMessage> {
    const run = this.#tail.then(() => this.#once(mty, payload));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #once(mty: number, payload: Uint8Array): Promise<JrcpMessage> {
    if (this.#dead) return Promise.reject(this.#dead);
    return new Promise<JrcpMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        // The link's state is unknown now (a late reply would answer the next request): end it.
        const err = new SecureElementError('SE05X_COMM_ERROR', `JRCP: no reply within ${this.#timeoutMs} ms`);
        this.#dead = err;
        this.#ownEnd = true;
        this.#socket.destroy();
        reject(err);
      }, this.#timeoutMs);
      const done = (m: JrcpMessage) => {
        clearTimeout(timer);
        if (m.mty !== mty) reject(new SecureElementError('SE05X_COMM_ERROR', `JRCP: reply of type ${m.mty} to a request of type ${mty}`));
        else resolve(m);
      };
      // A message nobody asked for (a reply after a timeout ended the link) is never taken as this reply.
      this.#inbox = [];
      this.#waiting = { resolve: done, reject: (e) => (clearTimeout(timer), reject(e)) };
      this.#socket.write(encodeJrcp(mty, payload));
    });
  }
}
