/**
 * Fault injection on the wire, at given rates with an injectable RNG so tests are deterministic:
 * a corrupted response CRC or a 0xFF status (as if the command CRC was bad), no response at all,
 * or an execution error (0x0F).
 */

/** Fault rates, each a probability in [0, 1]. */
export interface FaultOptions {
  crcErrorRate?: number;
  noResponseRate?: number;
  executionErrorRate?: number;
  /** Uniform [0, 1) source; Math.random by default. */
  rng?: () => number;
}

/** The fault chosen for one command, if any. */
export type Fault = 'none' | 'no-response' | 'crc-response' | 'crc-status' | 'execution-error';

/** Draws faults for commands. */
export class FaultInjector {
  private readonly rng: () => number;
  constructor(private readonly opts: FaultOptions = {}) {
    this.rng = opts.rng ?? Math.random;
  }

  /** True when no fault can ever fire (so the hot path skips the draws). */
  get inactive(): boolean {
    return !this.opts.crcErrorRate && !this.opts.noResponseRate && !this.opts.executionErrorRate;
  }

  /** Picks the fault for the next command (at most one). */
  next(): Fault {
    if (this.inactive) return 'none';
    if (this.opts.noResponseRate && this.rng() < this.opts.noResponseRate) return 'no-response';
    // A CRC fault either garbles the response on its way back or hits the command on its way in.
    if (this.opts.crcErrorRate && this.rng() < this.opts.crcErrorRate) return this.rng() < 0.5 ? 'crc-response' : 'crc-status';
    if (this.opts.executionErrorRate && this.rng() < this.opts.executionErrorRate) return 'execution-error';
    return 'none';
  }

  /** True when a wake pulse should go unanswered. */
  dropWake(): boolean {
    return !!this.opts.noResponseRate && this.rng() < this.opts.noResponseRate;
  }
}
