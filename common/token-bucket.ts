/**
 * A token bucket: `capacity` tokens, refilled continuously at `perMs` tokens per millisecond,
 * full at the start. The one rate limiter behind the OCSP signing budget, the embedded broker's
 * per-connection publish rate, the per-device request limit and the DPS endpoint's throttles.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(readonly capacity: number, readonly perMs: number, private readonly now: () => number = Date.now) {
    if (!(capacity >= 1) || !(perMs > 0)) throw new RangeError(`TokenBucket: capacity >= 1 and a refill rate > 0 required, got ${capacity} and ${perMs}`);
    this.#tokens = capacity;
    this.#at = now();
  }

  /** Takes one token; false (and nothing taken) when none is left. */
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

  /** Milliseconds until a token is available (0 when one is). */
  msUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : (1 - this.#tokens) / this.perMs;
  }

  /** True when the bucket would be full now: it holds no state worth keeping. */
  get full(): boolean {
    return this.available >= this.capacity;
  }

  #refill(): void {
    const t = this.now();
    // A clock that steps back adds nothing (performance.now never does; Date.now or a test clock might).
    if (t > this.#at) {
      this.#tokens = Math.min(this.capacity, this.#tokens + (t - this.#at) * this.perMs);
      this.#at = t;
    }
  }
}
