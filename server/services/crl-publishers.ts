/**
 * One CRL publisher per issuing CA behind the single face the revocation watcher polls
 * (issue 19): a revocation brings every CA's CRL up to date (each lists every revoked serial:
 * serials are 128-bit random and unique across Keyline's CAs, so an entry another CA never issued
 * matches nothing), each at half its validity. Publishers can be added while running (a CA
 * loaded on activation).
 */
import type { CrlPublisher, PublishedCrl } from './crl-publisher.js';

/** Several publishers as one. */
export class CrlPublisherSet {
  readonly #list: CrlPublisher[] = [];

  /** Adds a publisher (its first CRL is issued or loaded at the next sync). */
  add(p: CrlPublisher): void {
    this.#list.push(p);
  }

  /** True when any CRL misses revocations up to `seq` or passed half its validity. */
  isStale(seq: number): boolean {
    return this.#list.some((p) => p.isStale(seq));
  }

  /** True when any publisher's lease should be renewed or tried. */
  leaseDue(): boolean {
    return this.#list.some((p) => p.leaseDue());
  }

  /** Syncs every publisher in turn; returns the first's CRL. */
  async sync(): Promise<PublishedCrl | null> {
    let first: PublishedCrl | null = null;
    for (const [i, p] of this.#list.entries()) {
      const crl = await p.sync();
      if (i === 0) first = crl;
    }
    return first;
  }

  /** Gives every lease up. */
  async close(): Promise<void> {
    for (const p of this.#list) await p.close();
  }
}
