/**
 * Serves one emulated SE050 over JRCP v1 on any Duplex stream (as the kit server serves the
 * ATECC608): WAIT_FOR_CARD answers the ATR (and power-cycles the chip: a host's session starts
 * there), APDU answers the R-APDU, CLOSE answers CLOSE and ends the stream, terminal/debug info
 * and the access manager's LOCK/UNLOCK answer their own type with an empty payload
 * (simw smComSocket_fd.c as client, accessManager.c as server; reference/se050.md §2).
 * Connections to the same chip are served one APDU at a time, in arrival order.
 */
import type { Duplex } from 'node:stream';
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { Logger } from 'pino';
import { silentLogger } from '../../../common/log.js';
import { encodeJrcp, JrcpDecoder, JrcpType, type JrcpMessage } from '../../../common/se05x/jrcp.js';
import type { ApduPort } from '../../apdu-port.js';

/** Options of a JRCP server. */
export interface JrcpServerOptions {
  chip: ApduPort;
  /** Awaited after every APDU and before its reply: where the chip's image is saved when the APDU may have changed it. */
  afterApdu?: (capdu: Uint8Array) => Promise<void> | void;
  /** Wait each APDU's modelled execution time before replying (default true; 0 when the chip's timing is off). */
  honourTiming?: boolean;
  log?: Logger;
}

/** The JRCP v1 server of one chip. */
export class JrcpServer {
  readonly #o: JrcpServerOptions;
  readonly #log: Logger;
  readonly #streams = new Set<Duplex>();
  #tail: Promise<void> = Promise.resolve();

  constructor(opts: JrcpServerOptions) {
    this.#o = opts;
    this.#log = opts.log ?? silentLogger;
  }

  /** Serves one connection until it ends. */
  handle(stream: Duplex): void {
    this.#streams.add(stream);
    const decoder = new JrcpDecoder();
    let pending = 0;
    stream.on('close', () => this.#streams.delete(stream));
    stream.on('error', (err) => this.#log.debug({ err: err.message }, 'jrcp connection error'));
    stream.on('end', () => void this.#tail.finally(() => stream.end()));
    stream.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(new Uint8Array(chunk))) {
        pending++;
        // One chip: every connection's messages join one queue, so APDUs never interleave.
        this.#tail = this.#tail
          .then(() => this.#answer(stream, m))
          .catch((err: unknown) => this.#log.error({ err }, 'jrcp message failed'))
          .finally(() => {
            if (--pending < 16 && stream.isPaused()) stream.resume();
          });
        // A host that streams APDUs without reading replies is slowed down, never buffered without bound.
        if (pending >= 64) stream.pause();
      }
    });
  }

  /** Ends every open connection. */
  close(): void {
    for (const s of this.#streams) s.destroy();
    this.#streams.clear();
  }

  async #answer(stream: Duplex, m: JrcpMessage): Promise<void> {
    const reply = (mty: number, payload?: Uint8Array) => {
      if (!stream.destroyed && stream.writable) stream.write(encodeJrcp(mty, payload, m.nad));
    };
    switch (m.mty) {
      case JrcpType.WAIT_FOR_CARD:
        this.#o.chip.reset();
        return reply(JrcpType.WAIT_FOR_CARD, this.#o.chip.atr());
      case JrcpType.APDU: {
        const { response, execMs } = this.#o.chip.transmit(m.payload);
        if ((this.#o.honourTiming ?? true) && execMs > 0) await sleepMs(execMs);
        await this.#o.afterApdu?.(m.payload);
        // A fault that swallows the answer leaves the host waiting, as a dead link would.
        if (response) reply(JrcpType.APDU, response);
        return;
      }
      case JrcpType.CLOSE:
        reply(JrcpType.CLOSE);
        stream.end();
        return;
      default:
        // Terminal info, debug info, LOCK, UNLOCK and anything newer: same type, empty payload.
        return reply(m.mty);
    }
  }
}
