/**
 * The in-process event bus of committed changes (issue 18): every service that changes something
 * appends an audit record in the same transaction, so "a change" and "an audit record" are one
 * thing. `observeChanges` wraps the store the services run on and publishes the records of each
 * write transaction once it has committed (a rolled-back transaction publishes nothing). Other
 * processes' changes arrive through the change feed's poll of the audit sequence (change-feed.ts).
 */
import type { AuditRecord, Store, Tx, TxOptions } from '../store/store.js';

/** Receives committed audit records, in the order they were appended. */
export type ChangeListener = (records: readonly AuditRecord[]) => void;

/** A synchronous fan-out of committed changes; listeners must not throw (a throwing one is dropped from that delivery only). */
export class ChangeBus {
  private readonly listeners = new Set<ChangeListener>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Delivers records to every listener. */
  publish(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    for (const l of this.listeners) {
      try {
        l(records);
      } catch {
        // A listener's fault is its own: the change is committed and the others still get it.
      }
    }
  }

  /** Whether anyone listens (the store wrapper skips collecting otherwise). */
  get active(): boolean {
    return this.listeners.size > 0;
  }
}

/**
 * A Store whose write transactions publish their audit records on `bus` after commit. Read-only
 * transactions and transactions run while nobody listens pass straight through, so the issuing
 * path pays for one object per transaction only while a console is open.
 */
export function observeChanges(store: Store, bus: ChangeBus): Store {
  return {
    async transaction<T>(fn: (tx: Tx) => Promise<T>, opts?: TxOptions): Promise<T> {
      if (opts?.readOnly || !bus.active) return store.transaction(fn, opts);
      const appended: AuditRecord[] = [];
      const result = await store.transaction((tx) => fn(observed(tx, appended)), opts);
      bus.publish(appended);
      return result;
    },
    close: () => store.close(),
  };
}

/**
 * `tx` with an audit repository that also collects what it appends: an object whose prototype is
 * `tx`, not a copy, because a store may build its repositories lazily behind getters
 * (sqlite-tx.ts), which a copy would run, all of them, for every transaction.
 */
function observed(tx: Tx, appended: AuditRecord[]): Tx {
  let audit: Tx['audit'] | undefined;
  const view = Object.create(tx) as Tx;
  Object.defineProperty(view, 'audit', {
    get(): Tx['audit'] {
      if (audit) return audit;
      const real = tx.audit;
      audit = {
        ...real,
        append: async (e) => {
          const r = await real.append(e);
          appended.push(r);
          return r;
        },
        appendMany: async (es) => {
          const rs = await real.appendMany(es);
          appended.push(...rs);
          return rs;
        },
      };
      return audit;
    },
  });
  return view;
}
