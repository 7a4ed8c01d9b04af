/**
 * Per-device rate limit: a token bucket of `perMinute` tokens refilled continuously. Kept in
 * process memory (each replica limits what it handles), bounded by pruning full buckets.
 */

/** Options of the limiter. */
export interface DeviceRequestLimiterOptions {
  perMinute: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
  /** Prune idle buckets once this many exist (default 100,000). */
  maxKeys?: number;
}

/** A token bucket per device (key: serial, or serial/mtls for the certificate channel). */
export class DeviceRequestLimiter {
  readonly #perMs: number;
  readonly #capacity: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: DeviceRequestLimiterOptions) {
    this.#capacity = opts.perMinute;
    this.#perMs = opts.perMinute / 60_000;
    this.#now = opts.now ?? Date.now;
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  /** Takes one token for `key`: 0 when allowed, else the seconds until a token is available. */
  take(key: string): number {
    const now = this.#now();
    const b = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    b.tokens = Math.min(this.#capacity, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    if (b.tokens < 1) {
      this.#buckets.set(key, b);
      return Math.max(1, Math.ceil((1 - b.tokens) / this.#perMs / 1000));
    }
    b.tokens -= 1;
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.#maxKeys) this.#prune(now);
    return 0;
  }

  #prune(now: number): void {
    // A bucket that would be full again carries no state worth keeping.
    for (const [k, b] of this.#buckets) if (b.tokens + (now - b.at) * this.#perMs >= this.#capacity) this.#buckets.delete(k);
  }
}
