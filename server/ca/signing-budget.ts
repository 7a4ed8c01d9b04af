/**
 * A token bucket bounding how many OCSP signatures the responder may make: `ratePerSecond`
 * sustained, `burst` at once. Requests cannot buy signatures beyond it, so even a client
 * cycling through every real serial and hash form cannot monopolise the HSM, which also signs
 * certificates and CRLs (issue 11). Over budget, the caller answers `tryLater` unsigned.
 */

/** Limits of a SigningBudget. */
export interface SigningBudgetOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Most tokens held (and the initial fill). */
  burst: number;
  /** Monotonic milliseconds; default performance.now. */
  now?: () => number;
}

/** A token bucket: take() spends one token if one is left. */
export class SigningBudget {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(o: SigningBudgetOptions) {
    if (!(o.ratePerSecond > 0) || !(o.burst >= 1)) throw new RangeError(`SigningBudget: ratePerSecond > 0 and burst >= 1 required, got ${o.ratePerSecond} and ${o.burst}`);
    this.#rate = o.ratePerSecond;
    this.#burst = o.burst;
    this.#now = o.now ?? (() => performance.now());
    this.#tokens = o.burst;
    this.#at = this.#now();
  }

  /** Spends one token; false (and nothing spent) when the bucket is empty. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Tokens available now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  #refill(): void {
    const t = this.#now();
    // A clock that steps back adds nothing (performance.now never does; a test clock might).
    if (t > this.#at) this.#tokens = Math.min(this.#burst, this.#tokens + ((t - this.#at) / 1000) * this.#rate);
    this.#at = Math.max(this.#at, t);
  }
}
