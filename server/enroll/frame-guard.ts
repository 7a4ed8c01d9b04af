/**
 * A pass-through between a device's TLS socket and aedes' `handle()` that reads only the MQTT
 * fixed headers (MQTT 3.1.1 §2.2: one type byte, then the Remaining Length in 1-4 bytes) and
 * closes the connection as soon as a packet declares more than the limit. aedes 1.x has no
 * maximum packet size: its parser (mqtt-packet) buffers a whole 50 MB PUBLISH before any hook
 * can refuse it (issue 11 hole 3). The guard never buffers: bytes go on as they arrive, and a
 * body is skipped by counting.
 */
import { Duplex } from 'node:stream';

/** Why the guard closed a connection. */
export type FrameViolation =
  | { kind: 'too-large'; packetType: number; declared: number; limit: number }
  | { kind: 'malformed-length'; packetType: number }
  | { kind: 'reserved-type'; packetType: number };

/** The fixed-header state machine over a byte stream, independent of any socket. */
export class FrameScanner {
  readonly #limit: number;
  #state: 'type' | 'length' | 'body' = 'type';
  #type = 0;
  #length = 0;
  #multiplier = 1;
  #left = 0;

  /** `maxRemainingLength`: the largest Remaining Length accepted (bytes after the fixed header). */
  constructor(maxRemainingLength: number) {
    this.#limit = maxRemainingLength;
  }

  /** Feeds the next bytes; null while every header seen is acceptable, else the first violation. */
  push(chunk: Uint8Array): FrameViolation | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const n = Math.min(this.#left, chunk.length - i);
        this.#left -= n;
        i += n;
        if (this.#left === 0) this.#state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#state === 'type') {
        this.#type = byte >> 4;
        // Types 0 and 15 are reserved in MQTT 3.1.1 (§2.2.1, Table 2.1).
        if (this.#type === 0 || this.#type === 15) return { kind: 'reserved-type', packetType: this.#type };
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        continue;
      }
      // §2.2.3: seven bits per byte, least significant first; bit 7 says another byte follows.
      this.#length += (byte & 0x7f) * this.#multiplier;
      if (this.#length > this.#limit) return { kind: 'too-large', packetType: this.#type, declared: this.#length, limit: this.#limit };
      if (byte & 0x80) {
        this.#multiplier *= 128;
        // A fifth length byte is malformed (the encoding stops at 268,435,455 in four bytes).
        if (this.#multiplier > 128 ** 3) return { kind: 'malformed-length', packetType: this.#type };
        continue;
      }
      this.#left = this.#length;
      this.#state = this.#left > 0 ? 'body' : 'type';
    }
    return null;
  }
}

/**
 * The socket seen through a FrameScanner: what aedes reads and writes instead of the socket.
 * Writes pass straight to the socket; reads pass once scanned, with the socket's backpressure.
 */
export class FrameGuard extends Duplex {
  /** The wrapped socket (the broker reads the peer certificate from it). */
  readonly socket: Duplex;

  constructor(socket: Duplex, maxRemainingLength: number, onViolation: (v: FrameViolation) => void = () => undefined) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    const scanner = new FrameScanner(maxRemainingLength);
    socket.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const v = scanner.push(chunk);
      if (v) {
        onViolation(v);
        // Nothing of this chunk reaches aedes: the violating header could sit in it.
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.once('end', () => this.push(null));
    socket.once('error', (err) => this.destroy(err));
    socket.once('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
