/**
 * A token bucket bounding how many OCSP signatures the responder may make: `ratePerSecond`
 * sustained, `burst` at once. Requests cannot buy signatures beyond it, so even a client
 * cycling through every real serial and hash form cannot monopolise the HSM, which also signs
 * certificates and CRLs (issue 11). Over budget, the caller answers `tryLater` unsigned.
 */
import { TokenBucket } from '../../common/token-bucket.js';

/** Limits of a SigningBudget. */
export interface SigningBudgetOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Most tokens held (and the initial fill). */
  burst: number;
  /** Monotonic milliseconds; default performance.now. */
  now?: () => number;
}

/** The budget: take() spends one signature if one is left. */
export class SigningBudget {
  readonly #bucket: TokenBucket;

  constructor(o: SigningBudgetOptions) {
    if (!(o.ratePerSecond > 0) || !(o.burst >= 1)) throw new RangeError(`SigningBudget: ratePerSecond > 0 and burst >= 1 required, got ${o.ratePerSecond} and ${o.burst}`);
    this.#bucket = new TokenBucket(o.burst, o.ratePerSecond / 1000, o.now ?? (() => performance.now()));
  }

  /** Spends one token; false (and nothing spent) when the bucket is empty. */
  take(): boolean {
    return this.#bucket.take();
  }

  /** Tokens available now (fractional). */
  get available(): number {
    return this.#bucket.available;
  }
}
