/**
 * Shared transactions on SQLite (TxOptions.shared): the small transactions submitted in one
 * event-loop turn run one after another inside a single BEGIN … COMMIT, each write inside its
 * own SAVEPOINT, so one that fails is rolled back alone and the others still commit, together.
 *
 * Why: a commit appends every page its transaction touched to the WAL, plus the WAL frame
 * headers, and is most of what a one-row update costs; the outbox worker makes several such
 * transactions per issued unit (claim, read the unit, record the registration, mark the job),
 * which cost more than the issuance itself (issue 13's profile). Sharing the commit is the same
 * idea as services/group-commit.ts, for callers that each need their own result and failure.
 * Durability is unchanged: nobody is answered before the COMMIT that holds their writes.
 */
import Database from 'better-sqlite3';
import type { Tx } from '../store.js';
import { mapSqliteError } from './sqlite-errors.js';
import type { Statements } from './sqlite-statements.js';
import { createSqliteTx } from './sqlite-tx.js';

/** One submitted transaction body and its caller's promise. */
export interface SharedEntry {
  fn: (tx: Tx) => Promise<unknown>;
  readOnly: boolean;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** What a group runs against: the connection, its statements, the clock and a name for errors. */
export interface SharedTxDeps {
  db: Database.Database;
  s: Statements;
  /** BEGIN IMMEDIATE without stopping the event loop (sqlite-begin-write.ts). */
  beginWrite: () => Promise<void>;
  now: () => string;
  where: string;
}

const mapped = (err: unknown, where: string): unknown => (err instanceof Database.SqliteError ? mapSqliteError(err, where) : err);

/**
 * Runs `group` in one transaction (BEGIN IMMEDIATE when any entry writes, DEFERRED otherwise)
 * and settles every entry: each gets its own result or error once the COMMIT succeeded; if the
 * BEGIN or the COMMIT fails, or SQLite abandons the transaction, every entry gets that error.
 */
export async function runSharedGroup(d: SharedTxDeps, group: SharedEntry[]): Promise<void> {
  const { db, s } = d;
  const writes = group.some((e) => !e.readOnly);
  try {
    if (writes) await d.beginWrite();
    else s.beginRead.run();
  } catch (err) {
    const e = mapSqliteError(err, `${d.where}: begin`);
    for (const g of group) g.reject(e);
    return;
  }
  const results: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
  for (const entry of group) {
    let live = true;
    const own = !entry.readOnly;
    try {
      if (own) s.sharedSavepoint.run();
      const value = await entry.fn(createSqliteTx(s, () => live, d.now));
      live = false;
      if (own) s.sharedRelease.run();
      results.push({ ok: true, value });
    } catch (err) {
      live = false;
      if (!db.inTransaction) {
        // SQLite rolled the whole transaction back (an I/O error, a full disk): nobody's writes remain.
        const e = mapped(err, d.where);
        for (const g of group) g.reject(e);
        return;
      }
      if (own) {
        s.sharedRollbackTo.run();
        s.sharedRelease.run();
      }
      results.push({ ok: false, err: mapped(err, d.where) });
    }
  }
  try {
    s.commit.run();
  } catch (err) {
    if (db.inTransaction) s.rollback.run();
    const e = mapSqliteError(err, `${d.where}: commit`);
    for (const g of group) g.reject(e);
    return;
  }
  group.forEach((g, i) => {
    const r = results[i]!;
    if (r.ok) g.resolve(r.value);
    else g.reject(r.err);
  });
}
