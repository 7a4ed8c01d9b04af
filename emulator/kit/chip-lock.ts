/**
 * One chip, many kit connections: a connection owns a chip from its wake until its idle or sleep
 * (so another host's Nonce cannot slip between this host's Nonce and Sign), and waits its turn
 * otherwise. Ownership lapses after the chip's watchdog period, as the real chip would have gone
 * to sleep by then anyway (datasheet §6.3.2, watchdog ~1.3 s).
 */

/** Default ownership limit: a little over the 608's short watchdog. */
export const SESSION_LIMIT_MS = 1500;

/** The per-chip session lock. */
export class ChipLock {
  readonly #limitMs: number;
  #owner: object | null = null;
  #timer: NodeJS.Timeout | null = null;
  #queue: { who: object; go: () => void }[] = [];

  constructor(limitMs = SESSION_LIMIT_MS) {
    this.#limitMs = limitMs;
  }

  /** Resolves once `who` owns the chip (at once if it already does). */
  acquire(who: object): Promise<void> {
    if (this.#owner === who) return Promise.resolve();
    if (this.#owner === null) {
      this.#grant(who);
      return Promise.resolve();
    }
    return new Promise((go) => this.#queue.push({ who, go }));
  }

  /** Ends `who`'s ownership (no-op if it does not own the chip). */
  release(who: object): void {
    if (this.#owner !== who) {
      // A connection that closes while queued gives up its place.
      this.#queue = this.#queue.filter((q) => q.who !== who);
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#owner = null;
    const next = this.#queue.shift();
    if (next) {
      this.#grant(next.who);
      next.go();
    }
  }

  /** True when `who` holds the chip now. */
  owns(who: object): boolean {
    return this.#owner === who;
  }

  #grant(who: object): void {
    this.#owner = who;
    // Not unref'd: a host queued behind this owner is waiting on it.
    this.#timer = setTimeout(() => this.release(who), this.#limitMs);
  }
}
