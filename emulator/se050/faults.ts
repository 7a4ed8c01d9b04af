/**
 * Fault injection for the SE050 model, at given rates with an injectable RNG so tests are
 * deterministic: no answer at all (a link that drops the response: the host times out), the
 * applet's catch-all 6F00 instead of executing, or a response with one data byte flipped (what a
 * link without integrity protection, such as JRCP over TCP, would deliver on a bad line).
 */

/** Fault rates, each a probability in [0, 1]. */
export interface Se050FaultOptions {
  noResponseRate?: number;
  errorRate?: number;
  corruptRate?: number;
  rng?: () => number;
}

/** The fault chosen for one APDU. */
export type Se050Fault = 'none' | 'no-response' | 'error' | 'corrupt';

/** Draws faults. */
export class Se050FaultInjector {
  readonly #o: Se050FaultOptions;
  readonly #rng: () => number;
  constructor(opts: Se050FaultOptions = {}) {
    this.#o = opts;
    this.#rng = opts.rng ?? Math.random;
  }

  /** The fault for the next APDU (at most one). */
  next(): Se050Fault {
    const o = this.#o;
    if (!o.noResponseRate && !o.errorRate && !o.corruptRate) return 'none';
    if (o.noResponseRate && this.#rng() < o.noResponseRate) return 'no-response';
    if (o.errorRate && this.#rng() < o.errorRate) return 'error';
    if (o.corruptRate && this.#rng() < o.corruptRate) return 'corrupt';
    return 'none';
  }
}
