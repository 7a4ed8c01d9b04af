/**
 * BEGIN IMMEDIATE that waits for another connection's write lock without stopping the event
 * loop. SQLite's busy handler (busy_timeout) sleeps inside the call: the whole thread stops,
 * so a connection of this same process that holds the lock across an await (a transaction
 * waiting for a signature, a hook, another request) can never reach its COMMIT, and the wait
 * ends in SQLITE_BUSY after the full timeout (seen with two servers of one process on one file,
 * and it stalls every request of a worker while another process writes). Here the BEGIN is tried
 * with the busy handler off and, while the lock is taken, tried again from a timer until the
 * store's busy timeout has passed.
 */
import type Database from 'better-sqlite3';

/** What it runs: the prepared BEGIN IMMEDIATE, and the busy handler switched off and on. */
export interface BeginWriteStatements {
  begin: Database.Statement;
  /**
   * SQLite applies PRAGMA busy_timeout while preparing the statement, not while running it: a
   * prepared one would set the timeout once, so each switch is prepared anew (db.pragma).
   */
  busy: (ms: number) => void;
}

const isBusy = (err: unknown): boolean => typeof (err as { code?: unknown }).code === 'string' && ((err as { code: string }).code).startsWith('SQLITE_BUSY');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What beginWrite needs of a connection. */
export function prepareBeginWrite(db: Database.Database, begin: Database.Statement): BeginWriteStatements {
  return { begin, busy: (ms) => void db.pragma(`busy_timeout = ${Math.trunc(ms)}`) };
}

/** Takes the write lock; throws the driver's SQLITE_BUSY once `timeoutMs` has passed without it. */
export async function beginWrite(s: BeginWriteStatements, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
    s.busy(0);
    try {
      s.begin.run();
      return;
    } catch (err) {
      if (!isBusy(err) || performance.now() >= deadline) throw err;
    } finally {
      // The connection's other statements keep SQLite's own wait (a read during recovery).
      s.busy(timeoutMs);
    }
    await sleep(Math.min(wait, Math.max(1, deadline - performance.now())));
  }
}
