/**
 * SE050 parts for the line: one card per JRCP v1 endpoint (the emulator serves each chip on its
 * own port, as a rack of card readers would; JRCP carries no reader address), or emulated cards
 * in this process (tests, the benchmark's in-process mode). Each lease is its own session: the
 * link opens with WAIT_FOR_CARD (the card's power-up) and closes when the unit is done.
 */
import type { ApduPort } from '../emulator/apdu-port.js';
import { InProcessApduTransport } from '../emulator/se050/in-process-apdu-transport.js';
import type { ApduTransport } from '../secure-element/se05x/apdu-transport.js';
import { JrcpTcpTransport } from '../secure-element/se05x/jrcp-tcp-transport.js';
import { Se05xDevice } from '../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../secure-element/se05x/se05x-secure-element.js';
import type { ChipLease, ChipSource, Endpoint } from './chip-source.js';

/**
 * Cards behind JRCP endpoints, one per endpoint, each taken once per run (again after a lost
 * link). A card whose endpoint cannot be reached is handed out anyway, unreadable, so the line
 * rejects that one card and goes on, as with a part that does not answer.
 */
export class JrcpChipSource implements ChipSource {
  readonly #queue: Array<{ e: Endpoint; tries: number }>;

  constructor(endpoints: Endpoint[], private readonly opts: { timeoutMs?: number } = {}) {
    this.#queue = endpoints.map((e) => ({ e, tries: 0 }));
  }

  /** Cards not yet handed out. */
  get remaining(): number {
    return this.#queue.length;
  }

  async next(): Promise<ChipLease | null> {
    const item = this.#queue.shift();
    if (!item) return null;
    const { host, port } = item.e;
    const where = `jrcp ${host}:${port}`;
    let transport: JrcpTcpTransport;
    try {
      transport = await JrcpTcpTransport.connect({ host, port, ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}) });
    } catch (err) {
      // One reader of a rack, not the line: the card cannot even be read, and is rejected as such.
      const dead: ApduTransport = { transmit: () => Promise.reject(err), close: async () => undefined };
      return { element: new Se05xSecureElement(new Se05xDevice(dead)), where, release: async () => undefined };
    }
    const element = new Se05xSecureElement(new Se05xDevice(transport));
    return {
      element,
      where,
      release: () => element.close(),
      linkDown: () => transport.linkLost,
      requeue: () => {
        if (++item.tries > 2) return false;
        this.#queue.push(item);
        return true;
      },
    };
  }

  async close(): Promise<void> {}
}

/** Emulated SE050 cards in this process (`wait`: honour their timing model; default off). */
export class InProcessSe050ChipSource implements ChipSource {
  #i = 0;
  constructor(private readonly chips: ApduPort[], private readonly opts: { wait?: boolean } = {}) {}

  async next(): Promise<ChipLease | null> {
    const index = this.#i++;
    const chip = this.chips[index];
    if (!chip) return null;
    const element = new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(chip, { wait: this.opts.wait ?? false })));
    return { element, where: `in-process se050 #${index}`, release: () => element.close() };
  }

  async close(): Promise<void> {}
}
