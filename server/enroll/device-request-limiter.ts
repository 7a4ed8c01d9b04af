/**
 * Per-device rate limit: a token bucket of `perMinute` tokens refilled continuously. Kept in
 * process memory (each replica limits what it handles), bounded by pruning full buckets.
 */

import { TokenBucket } from '../../common/token-bucket.js';

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
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(opts: DeviceRequestLimiterOptions) {
    this.#capacity = opts.perMinute;
    this.#perMs = opts.perMinute / 60_000;
    this.#now = opts.now ?? Date.now;
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  /** Takes one token for `key`: 0 when allowed, else the seconds until a token is available. */
  take(key: string): number {
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, (b = new TokenBucket(this.#capacity, this.#perMs, this.#now)));
    if (!b.take()) return Math.max(1, Math.ceil(b.msUntilToken() / 1000));
    if (this.#buckets.size > this.#maxKeys) this.#prune();
    return 0;
  }

  #prune(): void {
    // A bucket that would be full again carries no state worth keeping.
    for (const [k, b] of this.#buckets) if (b.full) this.#buckets.delete(k);
  }
}
