/**
 * A least-recently-used map bounded in entries, for the enrollment path's pure-function caches
 * (a certificate's verification, a public key's parsed form): whatever devices send, it never
 * holds more than `maxEntries`. A JS Map keeps insertion order; a hit moves its key to the end,
 * eviction takes from the front.
 */

/** An entry-bounded LRU map. */
export class BoundedCache<K, V> {
  readonly #map = new Map<K, V>();
  readonly #max: number;

  constructor(maxEntries: number) {
    if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) throw new RangeError(`BoundedCache: maxEntries must be a positive integer, got ${maxEntries}`);
    this.#max = maxEntries;
  }

  /** Entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** The value for `key`, marked most recently used. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /** Removes `key`; true if it was held. */
  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Stores `value` under `key`, dropping the least recently used entry beyond the bound. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K);
  }
}
