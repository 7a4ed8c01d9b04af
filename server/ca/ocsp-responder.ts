/**
 * The OCSP responder (RFC 6960) with a response cache, so throughput does not depend on an HSM
 * signature per request. Policy:
 * - A request without a nonce for one certificate is answered from a cache of signed responses
 *   keyed by its exact CertID. An entry is signed on first request, served until half its
 *   validity has passed, then served once more while a fresh one is signed in the background
 *   (so it is refreshed before it expires), and never served past its nextUpdate.
 * - A request with a nonce (RFC 6960 §4.4.1) or with several CertIDs is signed for that request:
 *   a cached response cannot carry the client's nonce.
 * - `invalidate(serial)` drops the serial's responses at once (on revocation).
 */
import { KeylineError, hasCode } from '../../common/errors.js';
import { childrenOf, expectTlv } from './der-reader.js';
import { parseOcspRequest, type OcspCertId } from './ocsp-request.js';
import { issuerHashes, ocspErrorResponse, signedOcspResponse, singleResponse, type CertStatus, type OcspResponderIdentity } from './ocsp-response.js';

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
  /** Most serials kept in the cache; the oldest are dropped first. Default 200,000. */
  maxSerials?: number;
  now?: () => Date;
  /** Told about unexpected failures (answered as internalError). */
  onError?: (err: unknown) => void;
}

interface Entry {
  der: Buffer;
  refreshAt: number;
  expiresAt: number;
  refreshing: boolean;
}

/** Answers DER OCSP requests with DER OCSP responses; never throws. */
export class OcspResponder {
  readonly #d: Required<Omit<OcspResponderDeps, 'onError'>> & Pick<OcspResponderDeps, 'onError'>;
  readonly #hashes: ReturnType<typeof issuerHashes>;
  /** serial → (CertID DER as latin1 → entry). */
  readonly #cache = new Map<string, Map<string, Entry>>();
  readonly #pending = new Map<string, Promise<Buffer>>();
  // Bumped by every invalidation: a response computed across one is returned but not cached.
  #epoch = 0;
  /** Counters for metrics and the benchmark. */
  readonly stats = { hits: 0, signed: 0, errors: 0 };

  constructor(deps: OcspResponderDeps) {
    this.#d = { validityMs: 3_600_000, maxSerials: 200_000, now: () => new Date(), ...deps };
    this.#hashes = issuerHashes(deps.issuerNameDer, spkiKeyBits(deps.issuerSpki));
  }

  /** The DER OCSPResponse for a DER OCSPRequest (errors become unsigned error responses). */
  async respond(requestDer: Uint8Array): Promise<Buffer> {
    let req;
    try {
      req = parseOcspRequest(requestDer);
    } catch (err) {
      if (hasCode(err, 'MALFORMED_DER')) return ocspErrorResponse('malformedRequest');
      throw err;
    }
    // RFC 6960 §2.3: "unauthorized" when asked about a certificate of another issuer.
    if (!req.certIds.every((c) => this.#ours(c))) return ocspErrorResponse('unauthorized');
    try {
      if (req.certIds.length === 1 && !req.nonceExtension) return await this.#cached(req.certIds[0]!);
      const now = this.#now();
      const singles = await Promise.all(req.certIds.map(async (c) => singleResponse(c.der, await this.#d.lookup(c.serialHex), now, this.#until(now))));
      this.stats.signed++;
      return await signedOcspResponse(this.#d.identity, singles, now, req.nonceExtension);
    } catch (err) {
      this.stats.errors++;
      this.#d.onError?.(err);
      return ocspErrorResponse('internalError');
    }
  }

  /** Drops every cached response about `serialHex` (after its revocation). */
  invalidate(serialHex: string): void {
    this.#epoch++;
    this.#cache.delete(serialHex);
  }

  /** Drops the whole cache. */
  clear(): void {
    this.#epoch++;
    this.#cache.clear();
  }

  #ours(c: OcspCertId): boolean {
    const h = this.#hashes.get(c.hashAlgorithm);
    return !!h && h.name.equals(c.issuerNameHash) && h.key.equals(c.issuerKeyHash);
  }

  async #cached(c: OcspCertId): Promise<Buffer> {
    const key = c.der.toString('latin1');
    const entry = this.#cache.get(c.serialHex)?.get(key);
    const t = this.#d.now().getTime();
    if (entry && t < entry.refreshAt) {
      this.stats.hits++;
      return entry.der;
    }
    if (entry && t < entry.expiresAt) {
      // Past half-life: serve this one, sign its successor once in the background.
      this.stats.hits++;
      if (!entry.refreshing) {
        entry.refreshing = true;
        this.#sign(c, key).catch((err) => { entry.refreshing = false; this.#d.onError?.(err); });
      }
      return entry.der;
    }
    return this.#sign(c, key);
  }

  /** Signs one CertID's response, coalescing concurrent requests for the same CertID. */
  #sign(c: OcspCertId, key: string): Promise<Buffer> {
    let p = this.#pending.get(key);
    if (p) return p;
    const epoch = this.#epoch;
    p = (async () => {
      try {
        const status = await this.#d.lookup(c.serialHex);
        const now = this.#now();
        const der = await signedOcspResponse(this.#d.identity, [singleResponse(c.der, status, now, this.#until(now))], now);
        this.stats.signed++;
        if (epoch === this.#epoch) this.#store(c.serialHex, key, { der, refreshAt: now.getTime() + this.#d.validityMs / 2, expiresAt: this.#until(now).getTime(), refreshing: false });
        return der;
      } finally {
        this.#pending.delete(key);
      }
    })();
    this.#pending.set(key, p);
    return p;
  }

  #store(serial: string, key: string, e: Entry): void {
    let m = this.#cache.get(serial);
    if (!m) {
      if (this.#cache.size >= this.#d.maxSerials) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(serial, (m = new Map()));
    }
    m.set(key, e);
  }

  // Whole seconds: GeneralizedTime carries no fraction here (RFC 5280 §4.1.2.5.2).
  #now(): Date {
    return new Date(Math.floor(this.#d.now().getTime() / 1000) * 1000);
  }

  #until(now: Date): Date {
    return new Date(now.getTime() + this.#d.validityMs);
  }
}

/** The subjectPublicKey BIT STRING contents (without the unused-bits byte) of a DER SPKI. */
export function spkiKeyBits(spki: Uint8Array): Uint8Array {
  const top = expectTlv(spki, 0, spki.length, 0x30, 'SubjectPublicKeyInfo');
  const [, bits] = childrenOf(spki, top);
  if (!bits || bits.tag !== 0x03) throw new KeylineError('MALFORMED_DER', 'SubjectPublicKeyInfo: subjectPublicKey missing');
  return spki.subarray(bits.value + 1, bits.end);
}
