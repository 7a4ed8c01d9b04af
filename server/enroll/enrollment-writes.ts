/**
 * The enrollment service's write transactions, grouped: every hello, proof and mTLS enrollment
 * that arrives while the previous write is queued or running joins the next one (the issuance
 * path's group commit, services/group-commit.ts), so N concurrent devices cost one COMMIT and
 * one write-lock acquisition instead of N. On SQLite with several workers that matters twice:
 * better-sqlite3 waits for another process's lock inside BEGIN IMMEDIATE, blocking its event loop.
 *
 * Each member is a step of one device; the steps run one after another in the shared
 * transaction, so each sees the writes of those before it (two proofs with the same nonce in one
 * group: the first spends it, the second finds it used). A step returns refusals as values and
 * throws only on failure. Without savepoints a step that throws takes the transaction with it:
 * it fails alone, and the other members, told they were not at fault, go again in a later group.
 *
 * Lock order (PostgreSQL, pg-tx-context.ts): a proof's nonce is row-locked before the store's
 * write lock, as in a proof's own transaction, and no transaction takes a nonce lock while it
 * holds the write lock. A group therefore takes every member's nonce lock first, in ascending
 * nonce order (two replicas' groups cannot wait on each other's nonces), then runs the steps.
 */
import type { Store, Tx } from '../store/store.js';
import { createGroupCommit } from '../services/group-commit.js';

/** One device's share of a grouped write transaction. */
export interface WriteStep<T> {
  /** When set, run before every step's `run` in ascending `lockKey` order (a proof's nonce). */
  lock?: { key: string; run: (tx: Tx) => Promise<void> };
  /**
   * Work outside the database to finish before the member's transaction begins (a proof's
   * signature verified on the thread pool); the member keeps its place in line meanwhile.
   */
  ready?: Promise<unknown>;
  /** The device's writes and checks; refusals are returned, a throw fails this member. */
  run: (tx: Tx) => Promise<T>;
}

/** Runs a step in the next grouped write transaction; resolves after that transaction committed. */
export type GroupedWrite = <T>(step: WriteStep<T>) => Promise<T>;

/** What the grouped writes need. */
export interface EnrollmentWritesDeps {
  store: Store;
  /**
   * Members per transaction at most (default 32). A group's answers leave when it commits: with
   * 256 devices arriving at once, groups of 200 held the first answers back until the 200th
   * member was done, and the devices waited idle meanwhile (bench:enroll, quiet machine: first
   * enrollments 518-728/s with 200, 779-978/s with 32; a commit here costs a few µs).
   */
  maxItems?: number;
  /** How many times a member whose group failed through another member goes again (default 3). */
  maxRetries?: number;
}

interface Member {
  step: WriteStep<unknown>;
  result?: unknown;
  /** This member's step threw: the error it fails with. */
  fault?: { error: unknown };
  /** Another member's step threw: nothing of this one was committed; it may go again. */
  innocent?: boolean;
}

/** Builds the grouped writer over one store (one per process: every device shares it). */
export function createEnrollmentWrites(d: EnrollmentWritesDeps): GroupedWrite {
  const commit = createGroupCommit<Member>({
    store: d.store,
    maxItems: d.maxItems ?? 32,
    apply: async (tx, members) => {
      const locking = members.filter((m) => m.step.lock).sort((a, b) => (a.step.lock!.key < b.step.lock!.key ? -1 : a.step.lock!.key > b.step.lock!.key ? 1 : 0));
      for (const m of locking) await blame(m, members, () => m.step.lock!.run(tx));
      for (const m of members) m.result = await blame(m, members, () => m.step.run(tx));
    },
  });
  const maxRetries = d.maxRetries ?? 3;

  return async function write<T>(step: WriteStep<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const m: Member = { step };
      try {
        await commit([m], step.ready);
        return m.result as T;
      } catch (err) {
        if (m.fault) throw m.fault.error;
        if (!m.innocent || attempt >= maxRetries) throw err;
      }
    }
  };
}

/** Runs one member's part; on a throw, marks it at fault and every other member innocent, and rethrows. */
async function blame<R>(m: Member, members: Member[], fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    m.fault = { error: err };
    for (const o of members) if (o !== m) o.innocent = true;
    throw err;
  }
}
