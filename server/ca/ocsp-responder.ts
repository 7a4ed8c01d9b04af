/**
 * The OCSP responder (RFC 6960, profiled by RFC 5019): answers from signed responses held in a
 * bounded cache, so neither its memory nor its HSM use can be driven by what a client puts in a
 * request (issue 11). Policy:
 * - A request outside the strict profile (ocsp-request.ts) gets `malformedRequest`; one naming
 *   another issuer, or a serial this CA has no record of, gets `unauthorized` (RFC 5019 §2.2.2):
 *   both unsigned, neither cached.
 * - A known serial is answered from the cache, keyed by (serial, hash algorithm, parameters
 *   form): at most 8 entries per certificate. The issuer key hash is not in the key because it
 *   is fixed by the hash algorithm (one issuer per responder, checked first); the echoed CertID
 *   is therefore determined by the key.
 * - A nonce is ignored and not echoed (RFC 5019 §4, RFC 8954 §2.1): a nonce would need a
 *   signature per request.
 * - Signing happens only for a known serial whose entry is missing or past half-life, once per
 *   key at a time, and within a SigningBudget; over it the answer is an unsigned `tryLater`
 *   (a stale entry is still served until its nextUpdate).
 * - `invalidate(serial)` drops every key of the serial at once (on revocation); a response
 *   signed across an invalidation is returned but not cached.
 */
import { KeylineError, hasCode } from '../../common/errors.js';
import { normaliseSerialHex } from '../../common/certificate-serial.js';
import { childrenOf, expectTlv } from '../../common/der/reader.js';
import { OcspResponseCache, type OcspCacheEntry } from './ocsp-cache.js';
import { CERT_ID_HASH_ALGORITHMS, parseOcspRequest, type OcspCertId } from './ocsp-request.js';
import { issuerHashes, ocspErrorResponse, signedOcspResponse, singleResponse, type CertStatus, type OcspResponderIdentity } from './ocsp-response.js';
import { SigningBudget } from './signing-budget.js';

/** What the responder needs. */
export interface OcspResponderDeps {
  identity: OcspResponderIdentity;
  /** The issuing CA's subject Name (DER) and SubjectPublicKeyInfo (DER): requests must name this issuer. */
  issuerNameDer: Uint8Array;
  issuerSpki: Uint8Array;
  /** The status of a serial of this issuer (lowercase hex, no leading zeros). */
  lookup: (serialHex: string) => Promise<CertStatus>;
  /** Lifetime of a response (thisUpdate → nextUpdate); default one hour. */
  validityMs?: number;
  /** Cache bounds: most entries (default 100,000) and bytes (default 64 MiB); least recently used go first. */
  cacheMaxEntries?: number;
  cacheMaxBytes?: number;
  /** Signing budget: sustained signatures per second (default 100) and burst (default 500). */
  signsPerSecond?: number;
  signBurst?: number;
  now?: () => Date;
  /** Told about unexpected failures (answered as internalError). */
  onError?: (err: unknown) => void;
}

/** Default cache and budget limits (REVOCATION.md). */
export const OCSP_DEFAULTS = { validityMs: 3_600_000, cacheMaxEntries: 100_000, cacheMaxBytes: 64 * 1024 * 1024, signsPerSecond: 100, signBurst: 500 } as const;

// After the budget refused a background refresh, the next attempt for that key waits this long.
const REFRESH_RETRY_MS = 1000;

/** Answers DER OCSP requests with DER OCSP responses; never throws. */
export class OcspResponder {
  readonly #d: Required<Omit<OcspResponderDeps, 'onError'>> & Pick<OcspResponderDeps, 'onError'>;
  readonly #hashes: ReturnType<typeof issuerHashes>;
  readonly #cache: OcspResponseCache;
  readonly #budget: SigningBudget;
  /** Signatures in flight, per key, with the epoch they started in. */
  readonly #pending = new Map<string, { p: Promise<Buffer>; epoch: number }>();
  // Bumped by every invalidation: a response computed across one is returned but not cached.
  #epoch = 0;
  /** Counters for metrics, tests and the benchmark: answers from cache, signatures made, refusals by kind. */
  readonly stats = { hits: 0, coalesced: 0, signed: 0, errors: 0, noncesIgnored: 0, refused: { malformed: 0, unauthorized: 0, tryLater: 0 } };

  constructor(deps: OcspResponderDeps) {
    this.#d = { ...OCSP_DEFAULTS, now: () => new Date(), ...deps };
    this.#hashes = issuerHashes(deps.issuerNameDer, spkiKeyBits(deps.issuerSpki));
    this.#cache = new OcspResponseCache({ maxEntries: this.#d.cacheMaxEntries, maxBytes: this.#d.cacheMaxBytes });
    this.#budget = new SigningBudget({ ratePerSecond: this.#d.signsPerSecond, burst: this.#d.signBurst, now: () => this.#d.now().getTime() });
  }

  /** The cache's current size (entries, bytes) and evictions so far. */
  get cache(): { entries: number; bytes: number; evictions: number } {
    return { entries: this.#cache.size, bytes: this.#cache.bytes, evictions: this.#cache.evictions };
  }

  /** The DER OCSPResponse for a DER OCSPRequest (refusals and failures become unsigned error responses). */
  async respond(requestDer: Uint8Array): Promise<Buffer> {
    let c: OcspCertId;
    try {
      const req = parseOcspRequest(requestDer);
      c = req.certId;
      if (req.hasNonce) this.stats.noncesIgnored++;
    } catch (err) {
      if (hasCode(err, 'MALFORMED_DER')) {
        this.stats.refused.malformed++;
        return ocspErrorResponse('malformedRequest');
      }
      this.stats.errors++;
      this.#d.onError?.(err);
      return ocspErrorResponse('internalError');
    }
    // RFC 6960 §2.3: "unauthorized" when asked about a certificate of another issuer.
    if (!this.serves(c)) return this.#unauthorized();
    return this.answer(c);
  }

  /** True when `c` names this responder's issuer (name and key hashes): what an OcspRouter asks. */
  serves(c: OcspCertId): boolean {
    const h = this.#hashes.get(c.hash);
    return !!h && h.name.equals(c.issuerNameHash) && h.key.equals(c.issuerKeyHash);
  }

  /** The answer for a parsed CertID this responder serves (see serves); never throws. */
  async answer(c: OcspCertId): Promise<Buffer> {
    try {
      return await this.#answer(c, cacheKey(c.serialHex, c.hash, c.params));
    } catch (err) {
      this.stats.errors++;
      this.#d.onError?.(err);
      return ocspErrorResponse('internalError');
    }
  }

  /** Drops every cached response about `serialHex` (after its revocation): all 8 keys it can have. */
  invalidate(serialHex: string): void {
    this.#epoch++;
    const serial = normaliseSerialHex(serialHex);
    for (const { name } of CERT_ID_HASH_ALGORITHMS) {
      this.#cache.delete(cacheKey(serial, name, 'absent'));
      this.#cache.delete(cacheKey(serial, name, 'null'));
    }
  }

  /** Drops the whole cache. */
  clear(): void {
    this.#epoch++;
    this.#cache.clear();
  }

  #unauthorized(): Buffer {
    this.stats.refused.unauthorized++;
    return ocspErrorResponse('unauthorized');
  }

  async #answer(c: OcspCertId, key: string): Promise<Buffer> {
    const entry = this.#cache.get(key);
    const t = this.#d.now().getTime();
    if (entry && t < entry.expiresAt) {
      this.stats.hits++;
      // Past half-life: serve this one, sign its successor in the background (within the budget).
      if (t >= entry.refreshAt && !entry.refreshing && t >= entry.retryAt) this.#refresh(c, key, entry);
      return entry.der;
    }
    const joined = this.#joinPending(key);
    if (joined) return joined;
    // The lookup comes before any signature: a serial this CA has no record of costs one read, never a signature.
    const status = await this.#d.lookup(c.serialHex);
    if (status.status === 'unknown') {
      if (entry) this.#cache.delete(key);
      return this.#unauthorized();
    }
    const p = this.#sign(c, key, status);
    if (p) return p;
    this.stats.refused.tryLater++;
    return ocspErrorResponse('tryLater');
  }

  #refresh(c: OcspCertId, key: string, entry: OcspCacheEntry): void {
    entry.refreshing = true;
    void (async () => {
      const status = await this.#d.lookup(c.serialHex);
      if (status.status === 'unknown') {
        this.#cache.delete(key);
        return;
      }
      const p = this.#sign(c, key, status);
      if (!p) {
        entry.refreshing = false;
        entry.retryAt = this.#d.now().getTime() + REFRESH_RETRY_MS;
        return;
      }
      await p;
    })().catch((err) => {
      entry.refreshing = false;
      this.stats.errors++;
      this.#d.onError?.(err);
    });
  }

  /** A signature for `key` already in flight in the current epoch, if any. */
  #joinPending(key: string): Promise<Buffer> | undefined {
    const pending = this.#pending.get(key);
    if (!pending || pending.epoch !== this.#epoch) return undefined;
    this.stats.coalesced++;
    return pending.p;
  }

  /** Signs and caches the response for `key`, coalesced per key; null when over the signing budget. */
  #sign(c: OcspCertId, key: string, status: CertStatus): Promise<Buffer> | null {
    const joined = this.#joinPending(key);
    if (joined) return joined;
    if (!this.#budget.take()) return null;
    const epoch = this.#epoch;
    const sign = async (): Promise<Buffer> => {
      const now = this.#now();
      const until = this.#until(now);
      const der = await signedOcspResponse(this.#d.identity, [singleResponse(c.der, status, now, until)], now);
      this.stats.signed++;
      if (epoch === this.#epoch) {
        this.#cache.set(key, { der, refreshAt: now.getTime() + this.#d.validityMs / 2, expiresAt: until.getTime(), refreshing: false, retryAt: 0 });
      }
      return der;
    };
    const p: Promise<Buffer> = sign().finally(() => {
      if (this.#pending.get(key)?.p === p) this.#pending.delete(key);
    });
    this.#pending.set(key, { p, epoch });
    return p;
  }

  // Whole seconds: GeneralizedTime carries no fraction here (RFC 5280 §4.1.2.5.2).
  #now(): Date {
    return new Date(Math.floor(this.#d.now().getTime() / 1000) * 1000);
  }

  #until(now: Date): Date {
    return new Date(now.getTime() + this.#d.validityMs);
  }
}

/** The cache key of a CertID: everything that varies in an accepted CertID of this issuer. */
function cacheKey(serialHex: string, hash: string, params: string): string {
  return `${serialHex}/${hash}/${params}`;
}

/** The subjectPublicKey BIT STRING contents (without the unused-bits byte) of a DER SPKI. */
export function spkiKeyBits(spki: Uint8Array): Uint8Array {
  const top = expectTlv(spki, 0, spki.length, 0x30, 'SubjectPublicKeyInfo');
  const [, bits] = childrenOf(spki, top);
  if (!bits || bits.tag !== 0x03) throw new KeylineError('MALFORMED_DER', 'SubjectPublicKeyInfo: subjectPublicKey missing');
  return spki.subarray(bits.value + 1, bits.end);
}
