/**
 * A LineLink over any byte stream (a TCP socket, a serial port, an in-memory pair): writes request
 * lines, splits the reply stream at newlines, one request in flight at a time.
 */
import type { Duplex } from 'node:stream';
import { SecureElementError } from '../../common/errors.js';
import { KIT_LINE_MAX, type LineLink } from './kit-framing.js';

/** The LineLink for stream-shaped links. */
export class StreamLineLink implements LineLink {
  readonly #stream: Duplex;
  #buf = '';
  #waiter: ((line: string) => void) | null = null;
  #failed: SecureElementError | null = null;
  #fail: ((err: SecureElementError) => void) | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(stream: Duplex) {
    this.#stream = stream;
    stream.setEncoding('latin1');
    stream.on('data', (chunk: string) => this.#onData(chunk));
    const down = (why: string) => this.#down(new SecureElementError('ATCA_COMM_ERROR', `kit link ${why}`));
    stream.on('error', (err) => this.#down(new SecureElementError('ATCA_COMM_ERROR', `kit link error: ${err.message}`, { cause: err })));
    stream.on('close', () => down('closed'));
    stream.on('end', () => down('ended by the peer'));
  }

  request(line: string, timeoutMs: number): Promise<string> {
    const p = this.#tail.then(() => this.#exchange(line, timeoutMs));
    this.#tail = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    this.#down(new SecureElementError('ATCA_COMM_ERROR', 'kit link closed'));
    if (this.#stream.destroyed) return;
    await new Promise<void>((resolve) => {
      this.#stream.once('close', () => resolve());
      this.#stream.end();
      // A peer that never closes its side must not hold us up.
      setTimeout(() => this.#stream.destroy(), 200).unref();
    });
  }

  #exchange(line: string, timeoutMs: number): Promise<string> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late reply would answer the next request: the link is unusable from here on.
        const err = new SecureElementError('ATCA_TIMEOUT', `no kit reply within ${timeoutMs} ms to '${line.trim().slice(0, 40)}'`);
        this.#down(err);
        this.#stream.destroy();
      }, timeoutMs);
      this.#waiter = (reply) => {
        clearTimeout(timer);
        this.#fail = null;
        resolve(reply);
      };
      this.#fail = (err) => {
        clearTimeout(timer);
        this.#waiter = null;
        reject(err);
      };
      this.#stream.write(line);
    });
  }

  #onData(chunk: string): void {
    this.#buf += chunk;
    let nl: number;
    while ((nl = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, nl).replace(/\r$/, '');
      this.#buf = this.#buf.slice(nl + 1);
      // A line nobody asked for (a reply after its request timed out) is dropped.
      if (this.#waiter) this.#deliver(line);
    }
    if (this.#buf.length > KIT_LINE_MAX) {
      this.#down(new SecureElementError('ATCA_COMM_ERROR', `kit reply exceeds ${KIT_LINE_MAX} characters`));
      this.#stream.destroy();
    }
  }

  #deliver(line: string): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.(line);
  }

  #down(err: SecureElementError): void {
    if (!this.#failed) this.#failed = err;
    const f = this.#fail;
    this.#fail = null;
    this.#waiter = null;
    f?.(err);
  }
}
