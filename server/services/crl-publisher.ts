/**
 * Keeps the issuing CA's CRL current: one CRL in the database for every process, re-issued when
 * a revocation is newer than the CRL or when half its validity has passed (so a fresh CRL is
 * always published well before nextUpdate, RFC 5280 §5.1.2.5). Issuance runs in one write
 * transaction, so two processes never issue the same CRL Number and a second one reuses the CRL
 * the first just stored.
 */
import { silentLogger, type Logger } from '../../common/log.js';
import { issueCrl, type CrlEntry, type CrlIssuer } from '../ca/crl.js';
import type { CrlRecord, Store } from '../store/store.js';

/** What the publisher needs. */
export interface CrlPublisherDeps {
  store: Store;
  issuer: CrlIssuer;
  /** thisUpdate → nextUpdate; default 24 hours. */
  validityMs?: number;
  clock?: () => Date;
  log?: Logger;
}

/** A CRL as served: its DER and facts. */
export interface PublishedCrl {
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
  revocationSeq: number;
  der: Buffer;
}

/** Issues, stores and caches the CRL. */
export class CrlPublisher {
  readonly #d: CrlPublisherDeps & { validityMs: number; clock: () => Date; log: Logger };
  #current: PublishedCrl | null = null;
  #running: Promise<PublishedCrl> | null = null;

  constructor(deps: CrlPublisherDeps) {
    this.#d = { validityMs: 24 * 3_600_000, clock: () => new Date(), log: silentLogger, ...deps };
  }

  /** The CRL last loaded or issued by this process (null before the first refresh). */
  current(): PublishedCrl | null {
    return this.#current;
  }

  /** True when the CRL in memory misses revocations up to `seq` or has passed half its validity. */
  isStale(seq: number): boolean {
    const c = this.#current;
    return !c || c.revocationSeq < seq || this.#d.clock().getTime() >= this.#refreshAt(c);
  }

  /** Makes sure a CRL covering every revocation and not past half-life is stored and cached; returns it. */
  refresh(): Promise<PublishedCrl> {
    // Concurrent callers (a revocation and the timer) share one issuance.
    this.#running ??= this.#refresh().finally(() => (this.#running = null));
    return this.#running;
  }

  async #refresh(): Promise<PublishedCrl> {
    const crl = await this.#d.store.transaction(async (tx) => {
      const [latest, seq] = [await tx.crls.latest(), await tx.revocations.lastSeq()];
      const now = this.#d.clock();
      if (latest && latest.revocationSeq >= seq && now.getTime() < this.#refreshAt(fromRecord(latest))) return fromRecord(latest);
      const entries: CrlEntry[] = (await tx.revocations.listSince(0)).map((r) => ({ serialHex: r.certificateSerial, revokedAt: new Date(r.revokedAt), reason: r.reason }));
      // Whole seconds: the Time types carry no fraction (RFC 5280 §5.1.2.4).
      const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
      const nextUpdate = new Date(thisUpdate.getTime() + this.#d.validityMs);
      const number = (latest?.number ?? 0) + 1;
      const started = performance.now();
      const der = await issueCrl(this.#d.issuer, { number, thisUpdate, nextUpdate, entries });
      await tx.crls.save({ number, thisUpdate: thisUpdate.toISOString(), nextUpdate: nextUpdate.toISOString(), revocationSeq: seq, der });
      this.#d.log.info({ crlNumber: number, entries: entries.length, bytes: der.length, ms: Math.round(performance.now() - started) }, 'crl issued');
      return { number, thisUpdate, nextUpdate, revocationSeq: seq, der };
    });
    this.#current = crl;
    return crl;
  }

  #refreshAt(c: PublishedCrl): number {
    return c.nextUpdate.getTime() - this.#d.validityMs / 2;
  }
}

function fromRecord(r: CrlRecord): PublishedCrl {
  return { number: r.number, thisUpdate: new Date(r.thisUpdate), nextUpdate: new Date(r.nextUpdate), revocationSeq: r.revocationSeq, der: Buffer.from(r.der) };
}
