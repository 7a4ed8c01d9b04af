/**
 * Keeps an issuing CA's CRL current: one CRL per CA in the database for every process (keyed by
 * the CA's key identifier, so CAs rotated side by side number theirs apart), re-issued when
 * a revocation is newer than the CRL or when half its validity has passed (so a fresh CRL is
 * always published well before nextUpdate, RFC 5280 §5.1.2.5).
 *
 * With replicas, one process at a time signs: the holder of the database lease 'crl-issuer'
 * (taken and renewed in the same transaction that issues, so a lease that is lost cannot sign).
 * The others serve the latest CRL from the store and load a newer one when they notice it. If the
 * holder dies its lease expires and the next replica to ask takes over. Issuance runs in one write
 * transaction and CrlRepo.save refuses a number not above the stored one, so CRL numbers strictly
 * increase even if two processes were to believe they held the lease (RFC 5280 §5.2.3).
 */
import { KeylineError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { issueCrl, type CrlEntry, type CrlIssuer } from '../ca/crl.js';
import { parseCrl } from '../ca/crl-info.js';
import type { CrlRecord, Store, Tx } from '../store/store.js';

/** The name of the lease that makes one process the CRL signer. */
export const CRL_LEASE = 'crl-issuer';

/** Who this process is for the lease, and how long a taken lease lasts without renewal. */
export interface CrlLeaseOptions {
  /** Unique per process, e.g. host:pid:random. */
  holder: string;
  /** Lease lifetime; renewed at a third of it, so a dead holder is replaced within ttlMs. */
  ttlMs: number;
}

/** What the publisher needs. */
export interface CrlPublisherDeps {
  store: Store;
  issuer: CrlIssuer;
  /** thisUpdate → nextUpdate; default 24 hours. */
  validityMs?: number;
  /** Absent: this process always signs (a single server, the revoke CLI). */
  lease?: CrlLeaseOptions;
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

/** Issues (as lease holder), stores, loads and caches the CRL. */
export class CrlPublisher {
  readonly #d: CrlPublisherDeps & { validityMs: number; clock: () => Date; log: Logger };
  #current: PublishedCrl | null = null;
  #running: Promise<PublishedCrl | null> | null = null;
  /** Until when this process holds the lease (0 = not held, as far as it knows). */
  #heldUntil = 0;
  /** Until when another holder's lease runs, as last read. */
  #otherUntil = 0;

  constructor(deps: CrlPublisherDeps) {
    this.#d = { validityMs: 24 * 3_600_000, clock: () => new Date(), log: silentLogger, ...deps };
  }

  /** The CRL last loaded or issued by this process (null before the first refresh). */
  current(): PublishedCrl | null {
    return this.#current;
  }

  /** True while this process holds the CRL lease (always without a lease configured). */
  isIssuer(): boolean {
    return !this.#d.lease || this.#d.clock().getTime() < this.#heldUntil;
  }

  /** True when the CRL in memory misses revocations up to `seq` or has passed half its validity. */
  isStale(seq: number): boolean {
    const c = this.#current;
    return !c || c.revocationSeq < seq || this.#d.clock().getTime() >= this.#refreshAt(c);
  }

  /** True when the lease should be renewed (holder) or may be free to take (others). */
  leaseDue(): boolean {
    const l = this.#d.lease;
    if (!l) return false;
    const now = this.#d.clock().getTime();
    return this.#heldUntil > 0 ? now >= this.#heldUntil - (l.ttlMs * 2) / 3 : now >= this.#otherUntil;
  }

  /**
   * Makes sure a CRL covering every revocation and not past half-life is stored (when this process
   * holds or takes the lease) and cached; returns it. LEASE_HELD when another process signs and
   * has stored no CRL yet.
   */
  async refresh(): Promise<PublishedCrl> {
    const crl = await this.sync();
    if (!crl) throw new KeylineError('LEASE_HELD', `lease ${CRL_LEASE} is held by another process and no CRL is stored yet`);
    return crl;
  }

  /** As refresh, but null instead of LEASE_HELD: for the watcher's ticks. */
  sync(): Promise<PublishedCrl | null> {
    // Concurrent callers (a revocation and the timer) share one transaction.
    this.#running ??= this.#sync().finally(() => (this.#running = null));
    return this.#running;
  }

  /** Gives the lease up (clean shutdown), so another replica takes over at once. */
  async close(): Promise<void> {
    await this.#running?.catch(() => undefined);
    const l = this.#d.lease;
    if (!l || this.#heldUntil === 0) return;
    this.#heldUntil = 0;
    await this.#d.store.transaction((tx) => tx.leases.release(CRL_LEASE, l.holder));
    this.#d.log.info({ holder: l.holder }, 'crl lease released');
  }

  async #sync(): Promise<PublishedCrl | null> {
    const crl = await this.#d.store.transaction(async (tx) => {
      const held = await this.#takeLease(tx);
      const [latest, seq] = [await this.#latest(tx), await tx.revocations.lastSeq()];
      const now = this.#d.clock();
      const fresh = latest && latest.revocationSeq >= seq && now.getTime() < this.#refreshAt(fromRecord(latest));
      if (!held || fresh) return latest ? fromRecord(latest) : null;
      return this.#issue(tx, latest, seq, now);
    });
    if (crl && (!this.#current || crl.number > this.#current.number)) {
      if (this.#current && !this.isIssuer()) this.#d.log.info({ crlNumber: crl.number }, 'crl loaded from the store');
      this.#current = crl;
    }
    return this.#current;
  }

  /** This CA's stored CRL: its own row, or the issuer-less row of a build before issue 19 when that CRL's AKI is this CA's. */
  async #latest(tx: Tx): Promise<CrlRecord | null> {
    const keyId = this.#d.issuer.keyIdHex;
    const own = await tx.crls.latest(keyId);
    if (own) return own;
    const legacy = await tx.crls.latest('');
    return legacy && parseCrl(legacy.der).authorityKeyIdHex === keyId ? legacy : null;
  }

  /** Takes or renews the lease in `tx`; true when this process may sign in it. */
  async #takeLease(tx: Tx): Promise<boolean> {
    const l = this.#d.lease;
    if (!l) return true;
    const now = this.#d.clock().getTime();
    const until = now + l.ttlMs;
    const held = await tx.leases.acquire(CRL_LEASE, l.holder, new Date(now).toISOString(), new Date(until).toISOString());
    if (held) {
      if (this.#heldUntil === 0) this.#d.log.info({ holder: l.holder, ttlMs: l.ttlMs }, 'crl lease taken: this process signs CRLs');
      this.#heldUntil = until;
      return true;
    }
    if (this.#heldUntil > 0) this.#d.log.warn({ holder: l.holder }, 'crl lease lost to another process');
    this.#heldUntil = 0;
    const other = await tx.leases.get(CRL_LEASE);
    this.#otherUntil = other ? Date.parse(other.until) : 0;
    return false;
  }

  async #issue(tx: Tx, latest: CrlRecord | null, seq: number, now: Date): Promise<PublishedCrl> {
    // listForCrl, not listSince: full records made the read most of a 100,000-entry CRL's time (issue 13).
    const entries: CrlEntry[] = (await tx.revocations.listForCrl()).map((r) => ({ serialHex: r.certificateSerial, revokedAt: new Date(r.revokedAt), reason: r.reason }));
    // Whole seconds: the Time types carry no fraction (RFC 5280 §5.1.2.4).
    const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + this.#d.validityMs);
    const number = (latest?.number ?? 0) + 1;
    const started = performance.now();
    const der = await issueCrl(this.#d.issuer, { number, thisUpdate, nextUpdate, entries });
    await tx.crls.save({ issuerKeyId: this.#d.issuer.keyIdHex, number, thisUpdate: thisUpdate.toISOString(), nextUpdate: nextUpdate.toISOString(), revocationSeq: seq, der });
    this.#d.log.info({ crlNumber: number, entries: entries.length, bytes: der.length, ms: Math.round(performance.now() - started) }, 'crl issued');
    return { number, thisUpdate, nextUpdate, revocationSeq: seq, der };
  }

  #refreshAt(c: PublishedCrl): number {
    return c.nextUpdate.getTime() - this.#d.validityMs / 2;
  }
}

function fromRecord(r: CrlRecord): PublishedCrl {
  return { number: r.number, thisUpdate: new Date(r.thisUpdate), nextUpdate: new Date(r.nextUpdate), revocationSeq: r.revocationSeq, der: Buffer.from(r.der) };
}
