/**
 * The OCSP responder's store of signed responses: a least-recently-used map bounded both in
 * entries and in bytes, so no sequence of requests can grow it past its limits (issue 11). A JS
 * Map keeps insertion order; a hit moves its key to the end, eviction takes from the front.
 */

/** One signed response and when to refresh and drop it. */
export interface OcspCacheEntry {
  der: Buffer;
  /** Epoch ms after which a fresh response is signed in the background. */
  refreshAt: number;
  /** Epoch ms (nextUpdate) after which this response is never served. */
  expiresAt: number;
  /** A background refresh is under way. */
  refreshing: boolean;
  /** Epoch ms before which no new refresh is attempted (after the signing budget said no). */
  retryAt: number;
}

/** Limits of the cache. */
export interface OcspCacheLimits {
  maxEntries: number;
  maxBytes: number;
}

/**
 * Bytes counted per entry besides the response and the key: the Map slot, the entry object and
 * the Buffer header, measured roughly on Node 20 (an estimate that errs on the high side).
 */
export const ENTRY_OVERHEAD_BYTES = 256;

/** A size-bounded LRU map of signed OCSP responses. */
export class OcspResponseCache {
  readonly #map = new Map<string, OcspCacheEntry>();
  readonly #limits: OcspCacheLimits;
  #bytes = 0;
  /** Entries dropped to stay within the limits. */
  evictions = 0;

  constructor(limits: OcspCacheLimits) {
    if (!(limits.maxEntries >= 1) || !(limits.maxBytes >= 1)) throw new RangeError(`OcspResponseCache: limits must be positive, got ${JSON.stringify(limits)}`);
    this.#limits = { ...limits };
  }

  /** Entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** Bytes accounted for (responses, keys and the per-entry overhead). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The entry for `key`, marked most recently used. */
  get(key: string): OcspCacheEntry | undefined {
    const e = this.#map.get(key);
    if (e) {
      this.#map.delete(key);
      this.#map.set(key, e);
    }
    return e;
  }

  /** Stores `e` under `key` (replacing any), then evicts the least recently used entries over the limits. */
  set(key: string, e: OcspCacheEntry): void {
    this.delete(key);
    const size = entryBytes(key, e);
    // An entry bigger than the whole budget is not kept (it would evict everything, then itself).
    if (size > this.#limits.maxBytes) return;
    this.#map.set(key, e);
    this.#bytes += size;
    while (this.#map.size > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes) {
      const [oldest, entry] = this.#map.entries().next().value!;
      this.#map.delete(oldest);
      this.#bytes -= entryBytes(oldest, entry);
      this.evictions++;
    }
  }

  /** Drops `key`; true when it was there. */
  delete(key: string): boolean {
    const e = this.#map.get(key);
    if (!e) return false;
    this.#map.delete(key);
    this.#bytes -= entryBytes(key, e);
    return true;
  }

  /** Drops everything. */
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}

function entryBytes(key: string, e: OcspCacheEntry): number {
  // Keys are ASCII; V8 stores them one byte per character.
  return e.der.length + key.length + ENTRY_OVERHEAD_BYTES;
}
