/**
 * Notices revocations from any process (the `keyline revoke` CLI, another server worker) by
 * polling the revocation sequence number, a single-row read, once a second: new revocations drop
 * their OCSP responses from the cache and bring the CRL up to date (issued here by the holder of
 * the CRL lease, loaded from the store by the other replicas); the timer also re-issues the CRL
 * at half its validity and renews or retries the lease when it is due.
 */
import { silentLogger, type Logger } from '../../common/log.js';
import type { Store } from '../store/store.js';
import type { CrlPublisher } from './crl-publisher.js';

/** What the watcher needs. */
export interface RevocationWatcherDeps {
  store: Store;
  /** The CRL publisher (or a set of them, one per issuing CA: crl-publishers.ts). */
  crl: Pick<CrlPublisher, 'isStale' | 'leaseDue' | 'sync'>;
  /** Drops cached OCSP responses about one certificate serial. */
  invalidate: (certificateSerialHex: string) => void;
  intervalMs?: number;
  log?: Logger;
}

/** Polls for revocations and keeps the CRL and the OCSP cache in step with them. */
export class RevocationWatcher {
  readonly #d: RevocationWatcherDeps & { intervalMs: number; log: Logger };
  #seen = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;

  constructor(deps: RevocationWatcherDeps) {
    this.#d = { intervalMs: 1000, log: silentLogger, ...deps };
  }

  /** Issues or loads the CRL, then polls every interval until stop(). */
  async start(): Promise<void> {
    this.#seen = await this.#d.store.transaction((tx) => tx.revocations.lastSeq(), { readOnly: true });
    // Null only when another replica holds the lease and has stored no CRL yet: the next tick loads it.
    await this.#d.crl.sync();
    this.#timer = setInterval(() => {
      this.check().catch((err) => this.#d.log.error({ err }, 'revocation check failed'));
    }, this.#d.intervalMs);
    this.#timer.unref();
  }

  /** Looks for new revocations now (after one made in this process, for an immediate effect). */
  check(): Promise<void> {
    this.#running ??= this.#check().finally(() => (this.#running = null));
    return this.#running;
  }

  async #check(): Promise<void> {
    const seq = await this.#d.store.transaction((tx) => tx.revocations.lastSeq(), { readOnly: true });
    if (seq > this.#seen) {
      const rows = await this.#d.store.transaction((tx) => tx.revocations.listSince(this.#seen), { readOnly: true });
      for (const r of rows) this.#d.invalidate(r.certificateSerial);
      this.#seen = rows.at(-1)?.seq ?? seq;
      this.#d.log.info({ revocations: rows.length, seq: this.#seen }, 'revocations noticed');
    }
    if (this.#d.crl.isStale(seq) || this.#d.crl.leaseDue()) await this.#d.crl.sync();
  }

  /** Stops polling and waits for a running check. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
