/**
 * Group commit: work submitted while a write transaction is queued or running is gathered into
 * the next one, so N concurrent single-unit requests cost one COMMIT instead of N. A commit
 * writes every touched B-tree page to the WAL (units and its indexes, work_orders, audit_log),
 * which is most of the cost of recording a unit; sharing it is the cheapest speed-up and also
 * shortens the time other processes wait for the write lock.
 */
import type { Store, Tx } from '../store/store.js';

/**
 * Submits items to be applied in a shared write transaction; resolves once it has committed.
 * `ready`: work of the items' own to finish first (its failure is theirs to handle). The items keep their
 * place in line meanwhile, and their transaction is not begun before it is done, so no write
 * lock is held while waiting.
 */
export type GroupCommit<I> = (items: I[], ready?: Promise<unknown>) => Promise<void>;

interface Entry<I> {
  items: I[];
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Set while the submission's `ready` is pending. */
  waiting?: Promise<unknown> | undefined;
}

/** The store to commit to, what to do with the gathered items, and how many at most per transaction. */
export interface GroupCommitDeps<I> {
  store: Store;
  /** Applies the gathered items inside the shared transaction. */
  apply: (tx: Tx, items: I[]) => Promise<void>;
  /** About this many items at most per transaction (default 200; one submission is never split). */
  maxItems?: number;
  /**
   * Share read-only transactions instead (TxOptions.readOnly): concurrent readers of one turn
   * cost one BEGIN/COMMIT and one pass over their rows, not one each.
   */
  readOnly?: boolean;
}

/**
 * Creates a group committer: `apply` runs inside one transaction over everything gathered (about
 * `maxItems` at most per transaction; one submission is never split). If the transaction fails,
 * every submitter in it gets the error: nothing of theirs was committed.
 */
export function createGroupCommit<I>({ store, apply, maxItems = 200, readOnly = false }: GroupCommitDeps<I>): GroupCommit<I> {
  let pending: Entry<I>[] = [];
  let scheduled = false;

  const take = (): Entry<I>[] => {
    let n = 0;
    let cut = 0;
    // Submissions in the order they came, up to the first one still getting ready.
    while (cut < pending.length && !pending[cut]!.waiting && (cut === 0 || n + pending[cut]!.items.length <= maxItems)) n += pending[cut++]!.items.length;
    const group = pending.slice(0, cut);
    pending = pending.slice(cut);
    return group;
  };

  const schedule = (): void => {
    scheduled = true;
    // Wait one event-loop turn first: a better-sqlite3 transaction runs to its end in microtasks,
    // so without this pause no other request could ever join (each would commit alone). Requests
    // whose signatures complete in the same I/O phase now share a transaction.
    setImmediate(flush);
  };

  const flush = (): void => {
    // The transaction begins once the submissions that would make its group are ready (looked at
    // again then: those that came meanwhile join as before).
    const waits: Promise<unknown>[] = [];
    for (let i = 0, n = 0; i < pending.length && (i === 0 || n + pending[i]!.items.length <= maxItems); n += pending[i++]!.items.length) {
      if (pending[i]!.waiting) waits.push(pending[i]!.waiting!);
    }
    if (waits.length) {
      void Promise.all(waits).then(flush);
      return;
    }
    let group: Entry<I>[] | undefined;
    store
      .transaction(async (tx) => {
        // The body starts when the store's queue reaches it: whatever arrived by then joins.
        group = take();
        scheduled = false;
        if (pending.length) schedule(); // overflow goes to the next transaction
        await apply(tx, group.flatMap((g) => g.items));
      }, { readOnly })
      .then(
        () => group!.forEach((g) => g.resolve()),
        (err: unknown) => {
          // BEGIN itself failed (e.g. busy timeout): the body never took its group.
          if (!group) {
            group = pending;
            pending = [];
            scheduled = false;
          }
          group.forEach((g) => g.reject(err));
        },
      );
  };

  return (items, ready) =>
    new Promise<void>((resolve, reject) => {
      const entry: Entry<I> = { items, resolve, reject };
      if (ready) {
        const done = () => { entry.waiting = undefined; };
        entry.waiting = ready.then(done, done);
      }
      pending.push(entry);
      if (!scheduled) schedule();
    });
}
