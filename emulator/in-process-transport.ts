/**
 * A Transport over an emulated chip in the same process: frames go straight to ChipPort.execute.
 * With the chip's timing model on, it waits the modelled execution time before answering, as a
 * host on a real bus would have to. It lives with the emulator, which provides it, so the host
 * side (secure-element/) knows only the Transport interface and never the emulator.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import { SecureElementError } from '../common/errors.js';
import type { ChipPort } from './chip-port.js';
import type { Transport } from '../secure-element/transport.js';

/** Options for InProcessTransport. */
export interface InProcessOptions {
  /** Honour the chip's modelled execution time (default true; a chip with timing off reports 0). */
  wait?: boolean;
}

/** The in-process link to one ChipPort. */
export class InProcessTransport implements Transport {
  readonly #chip: ChipPort;
  readonly #wait: boolean;
  #closed = false;

  constructor(chip: ChipPort, opts: InProcessOptions = {}) {
    this.#chip = chip;
    this.#wait = opts.wait ?? true;
  }

  /** The chip behind this transport (for tests and the fleet simulator). */
  get chip(): ChipPort {
    return this.#chip;
  }

  async wake(): Promise<Uint8Array> {
    this.#open();
    const r = this.#chip.wake();
    if (!r) throw new SecureElementError('ATCA_WAKE_FAILED', 'no wake response from the in-process chip');
    return r;
  }

  async idle(): Promise<void> {
    this.#open();
    this.#chip.idle();
  }

  async sleep(): Promise<void> {
    this.#open();
    this.#chip.sleep();
  }

  async transact(packet: Uint8Array, _maxExecMs: number): Promise<Uint8Array> {
    this.#open();
    const { response, execMs } = this.#chip.execute(packet);
    if (this.#wait && execMs > 0) await sleepMs(execMs);
    if (!response) throw new SecureElementError('ATCA_COMM_ERROR', 'no response from the in-process chip');
    return response;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new SecureElementError('ATCA_COMM_ERROR', 'in-process transport is closed');
  }
}
