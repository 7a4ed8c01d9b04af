/**
 * Serves emulated chips over Microchip's ASCII kit protocol on any Duplex stream (as aedes'
 * handle(stream)): `board:device(NN)`, `E:physical:select(AA)`, `E:w()`, `E:i()`, `E:s()`,
 * `E:t(HEX)`; replies `SS(HEX)\n`. Parsing follows the kit firmware's interpreter
 * (cryptoauthlib app/kit_host/ascii_kit_host.c): case-insensitive words, any prefix of a word.
 *
 * Addressing: device index NN is hex (2 digits, more from 0x100); the address of chip `i` is
 * `(0xC0 + i) mod 256` for i < 256, so chip 0 sits at the factory I2C address C0 and 256 chips get
 * 256 distinct one-byte addresses; from index 256 on the address is the index itself (3-4 hex digits).
 *
 * Errors never close the connection: unknown index `E0()`, malformed or unknown request `E2()`,
 * bad hex or empty packet `E2()`/`E4()`, a line over 1,024 characters `E4()` (once, at its
 * newline), a device request before a select `F9()`, select of an unknown address `F9()`, a
 * chip that swallows a wake `D0()` or a command `E7()`.
 */
import type { Duplex } from 'node:stream';
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { Logger } from 'pino';
import { silentLogger } from '../../common/log.js';
import type { ChipPort } from '../chip-port.js';
import { formatDeviceLine, formatKitReply, KIT_LINE_MAX, KitStatus } from '../../secure-element/transports/kit-framing.js';
import { ChipLock } from './chip-lock.js';

/** Options for KitServer. */
export interface KitServerOptions {
  /** The chips, in device-index order. */
  chips: ChipPort[];
  /**
   * Awaited after every executed command and before its reply is written: the place to persist
   * a chip whose state the command may have changed (so no lock or key is lost on a kill).
   */
  afterCommand?: (index: number, frame: Uint8Array) => Promise<void> | void;
  /** Wait each command's modelled execution time before replying (default true). */
  honourTiming?: boolean;
  /** Device type reported by `board:device` (default `ECC608`, cryptoauthlib's kit id). */
  deviceType?: string;
  /** Session ownership limit per chip, ms (default 1,500). */
  sessionLimitMs?: number;
  log?: Logger;
}

/** The address of chip `index` (see the file comment). */
export function kitAddressOf(index: number): number {
  return index < 256 ? (0xc0 + index) & 0xff : index;
}

/** Requests a connection may have queued before its stream is paused. */
const MAX_PENDING = 64;

interface Conn {
  selected: number | null;
}

/** The kit-protocol server for a set of chips. */
export class KitServer {
  readonly #chips: ChipPort[];
  readonly #locks: ChipLock[];
  readonly #byAddress = new Map<number, number>();
  readonly #opts: KitServerOptions;
  readonly #log: Logger;
  readonly #streams = new Set<Duplex>();

  constructor(opts: KitServerOptions) {
    this.#opts = opts;
    this.#chips = opts.chips;
    this.#locks = opts.chips.map(() => new ChipLock(opts.sessionLimitMs));
    this.#chips.forEach((_, i) => this.#byAddress.set(kitAddressOf(i), i));
    this.#log = opts.log ?? silentLogger;
  }

  /** Number of chips served. */
  get size(): number {
    return this.#chips.length;
  }

  /** Serves one connection until it ends; requests are answered in order. */
  handle(stream: Duplex): void {
    const conn: Conn = { selected: null };
    this.#streams.add(stream);
    let buf = '';
    let overflow = false;
    let queue: Promise<void> = Promise.resolve();
    let pending = 0;
    stream.setEncoding?.('latin1');
    const cleanup = () => {
      this.#streams.delete(stream);
      for (const l of this.#locks) l.release(conn);
    };
    stream.on('close', cleanup);
    // A host that half-closes after its last request still gets every reply: end once the
    // queue has answered (issue 11, found by the kit fuzz target).
    stream.on('end', () => void queue.finally(() => stream.end()));
    stream.on('error', (err) => this.#log.debug({ err: err.message }, 'kit connection error'));
    stream.on('data', (chunk: string | Buffer) => {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const tooLong = overflow || line.length > KIT_LINE_MAX;
        overflow = false;
        pending++;
        queue = queue
          .then(() => this.#answer(conn, stream, tooLong ? null : line))
          .finally(() => {
            if (--pending < MAX_PENDING / 4 && stream.isPaused()) stream.resume();
          });
        // A host that streams requests without reading replies is slowed down, never buffered without bound.
        if (pending >= MAX_PENDING) stream.pause();
      }
      if (buf.length > KIT_LINE_MAX) {
        // Drop the excess now (never buffer without bound) and answer once the line ends.
        overflow = true;
        buf = '';
      }
    });
  }

  /** Ends every open connection. */
  close(): void {
    for (const s of this.#streams) s.destroy();
    this.#streams.clear();
  }

  async #answer(conn: Conn, stream: Duplex, line: string | null): Promise<void> {
    let reply: string | null;
    try {
      reply = line === null ? formatKitReply(KitStatus.INVALID_SIZE) : await this.#dispatch(conn, line);
    } catch (err) {
      // A chip model bug must not take the server down: answer a kit failure and carry on.
      this.#log.error({ err }, 'kit request failed');
      reply = formatKitReply(KitStatus.FUNC_FAIL);
    }
    if (reply !== null && !stream.destroyed && stream.writable) stream.write(reply);
  }

  async #dispatch(conn: Conn, raw: string): Promise<string | null> {
    // Hosts may send a bare '\r' or '\n' to flush the kit's parser: no reply to an empty line.
    const line = raw.replace(/^[\s\0]+|[\s\0]+$/g, '');
    if (line === '') return null;
    const m = /^([A-Za-z]+(?::[A-Za-z0-9]+)*)(?:\(([^()]*)\))?$/.exec(line);
    if (!m) return formatKitReply(KitStatus.BAD_PARAM);
    const words = m[1]!.toLowerCase().split(':');
    const arg = m[2];
    const [target, verb, sub] = words;
    if (is(target, 'board')) {
      if (is(verb, 'device')) return this.#device(arg);
      if (is(verb, 'version') || is(verb, 'firmware')) return formatKitReply(KitStatus.OK);
      return formatKitReply(KitStatus.BAD_PARAM);
    }
    if (!(is(target, 'ecc') || is(target, 'sha'))) return formatKitReply(KitStatus.BAD_PARAM);
    if (is(verb, 'physical')) {
      if (is(sub, 'select')) return this.#select(conn, arg);
      if (is(sub, 'interface')) return formatKitReply(KitStatus.OK);
      return formatKitReply(KitStatus.BAD_PARAM);
    }
    const known = ['wake', 'idle', 'sleep', 'talk'].some((id) => is(verb, id));
    if (words.length !== 2 || arg === undefined || !known) return formatKitReply(KitStatus.BAD_PARAM);
    if (conn.selected === null) return formatKitReply(KitStatus.NO_DEVICES);
    const index = conn.selected;
    const chip = this.#chips[index]!;
    const lock = this.#locks[index]!;
    if (is(verb, 'wake')) {
      await lock.acquire(conn);
      const r = chip.wake();
      return r ? formatKitReply(KitStatus.OK, r) : formatKitReply(KitStatus.WAKE_FAILED);
    }
    if (is(verb, 'idle') || is(verb, 'sleep')) {
      await lock.acquire(conn);
      if (is(verb, 'idle')) chip.idle();
      else chip.sleep();
      lock.release(conn);
      return formatKitReply(KitStatus.OK);
    }
    return this.#talk(conn, index, arg);
  }

  #device(arg: string | undefined): string {
    const index = parseHex(arg);
    if (index === null || index >= this.#chips.length) return formatKitReply(KitStatus.FUNC_FAIL);
    return formatDeviceLine({ type: this.#opts.deviceType ?? 'ECC608', iface: 'TWI', address: kitAddressOf(index) });
  }

  #select(conn: Conn, arg: string | undefined): string {
    const address = parseHex(arg);
    const index = address === null ? undefined : this.#byAddress.get(address);
    if (index === undefined) return formatKitReply(KitStatus.NO_DEVICES);
    // Moving to another chip ends any session held on the previous one.
    if (conn.selected !== null && conn.selected !== index) this.#locks[conn.selected]!.release(conn);
    conn.selected = index;
    return formatKitReply(KitStatus.OK);
  }

  async #talk(conn: Conn, index: number, arg: string): Promise<string> {
    if (arg.length === 0) return formatKitReply(KitStatus.INVALID_SIZE);
    if (arg.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(arg)) return formatKitReply(KitStatus.BAD_PARAM);
    const frame = Uint8Array.from(Buffer.from(arg, 'hex'));
    await this.#locks[index]!.acquire(conn);
    const { response, execMs } = this.#chips[index]!.execute(frame);
    if ((this.#opts.honourTiming ?? true) && execMs > 0) await sleepMs(execMs);
    await this.#opts.afterCommand?.(index, frame);
    return response ? formatKitReply(KitStatus.OK, response) : formatKitReply(KitStatus.RX_NO_RESPONSE);
  }
}

/** True when `word` is a non-empty prefix of `id` (the kit firmware's strncmp rule). */
function is(word: string | undefined, id: string): boolean {
  return word !== undefined && word.length > 0 && id.startsWith(word);
}

function parseHex(arg: string | undefined): number | null {
  if (arg === undefined || !/^[0-9A-Fa-f]{1,4}$/.test(arg)) return null;
  return parseInt(arg, 16);
}
