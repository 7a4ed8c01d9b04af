/**
 * The SQLite Store: one better-sqlite3 connection per process, WAL, transactions serialised by an
 * in-process queue (better-sqlite3 is synchronous, but a transaction body may await an HSM).
 *
 * Durability choice: journal_mode=WAL with synchronous=NORMAL. In WAL mode a commit is an append
 * to the -wal file; NORMAL skips the fsync at each commit and syncs at checkpoints instead. A
 * committed transaction survives a crash or kill of the process (the WAL is in the OS page cache
 * and is replayed on the next open); only an OS crash or power loss can lose the last commits
 * before a checkpoint, and never corrupts the database (sqlite.org/wal.html, pragma.html#pragma_synchronous).
 * FULL costs ~3.6x the commit rate on this machine (~2,500 vs ~9,100 commits/s). A line that
 * must survive power loss sets `sqlite:/path.db?synchronous=full`; batches still group commits.
 *
 * Cost choices (issue 13's profile of issuance): temp_store=MEMORY keeps the statement journals
 * of SAVEPOINTs (group commits and shared transactions run each member in one) in memory, where
 * the default wrote every page a member touched to a temporary file first (~10 % of the
 * process's time under issuance load); and a busy store checkpoints on a thread of its own
 * (wal-checkpointer.ts) instead of inside a COMMIT on the event loop.
 */
import Database from 'better-sqlite3';
import { KeylineError } from '../../../common/errors.js';
import type { Store, Tx, TxOptions } from '../store.js';
import { migrate } from './migrate.js';
import { mapSqliteError } from './sqlite-errors.js';
import { prepareStatements, type Statements } from './sqlite-statements.js';
import { createSqliteTx } from './sqlite-tx.js';
import { runSharedGroup, type SharedEntry } from './sqlite-shared-tx.js';
import { startWalCheckpointer, type WalCheckpointer } from './wal-checkpointer.js';
import { beginWrite, prepareBeginWrite, type BeginWriteStatements } from './sqlite-begin-write.js';

/** Options of a SqliteStore. */
export interface SqliteStoreOptions {
  /** FULL fsyncs every commit (power-loss safe); NORMAL (default) see the file comment. */
  synchronous?: 'normal' | 'full';
  /** How long a write waits for another process's lock before STORE_ERROR (ms). */
  busyTimeoutMs?: number;
  /** Timestamps for audit records (tests pass a fixed clock). */
  now?: () => string;
  /**
   * Write commits after which checkpoints move to a thread of their own (wal-checkpointer.ts);
   * default 100, so short-lived stores (tools, tests) never start one; 0 never.
   */
  backgroundCheckpointAfter?: number;
}

/** The SQLite implementation of Store. */
export class SqliteStore implements Store {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #s: Statements;
  readonly #now: () => string;
  // Tail of the in-process transaction queue: each transaction starts when the previous settles.
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  // Shared transactions (TxOptions.shared) waiting for their group's turn in the queue.
  #shared: SharedEntry[] = [];
  #sharedScheduled = false;
  #sharedQueued = false;
  #writesToCheckpointer: number;
  readonly #busyTimeoutMs: number;
  readonly #beginWrite: BeginWriteStatements;
  #checkpointer: WalCheckpointer | undefined;

  /** Opens (creating if absent) and migrates the database file. */
  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.path = path;
    try {
      this.#busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
      this.#db = new Database(path, { timeout: this.#busyTimeoutMs });
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.#db.pragma('foreign_keys = ON');
      this.#db.pragma('temp_store = MEMORY');
      migrate(this.#db);
    } catch (err) {
      throw mapSqliteError(err, `sqlite ${path}`);
    }
    this.#s = prepareStatements(this.#db);
    this.#beginWrite = prepareBeginWrite(this.#db, this.#s.begin);
    this.#now = opts.now ?? (() => new Date().toISOString());
    this.#writesToCheckpointer = opts.backgroundCheckpointAfter ?? 100;
  }

  /** Whether checkpoints run on their own thread (started after enough write commits). */
  get checkpointsInBackground(): boolean {
    return this.#checkpointer !== undefined;
  }

  #wrote(): void {
    if (this.#checkpointer || this.#writesToCheckpointer <= 0 || --this.#writesToCheckpointer > 0) return;
    this.#checkpointer = startWalCheckpointer(this.path, {
      setAutocheckpoint: (pages) => {
        if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${pages}`);
      },
    });
  }

  /** Runs fn in BEGIN IMMEDIATE (or DEFERRED when read-only), after any earlier transaction. */
  transaction<T>(fn: (tx: Tx) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new KeylineError('STORE_ERROR', `sqlite ${this.path}: store is closed`));
    if (opts.shared) return this.#submitShared(fn, opts.readOnly === true);
    const result = this.#tail.then(() => this.#run(fn, opts));
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async #run<T>(fn: (tx: Tx) => Promise<T>, opts: TxOptions): Promise<T> {
    try {
      // IMMEDIATE takes the write lock up front: a read-then-write in DEFERRED mode can fail with
      // SQLITE_BUSY_SNAPSHOT when another process wrote in between, and busy_timeout cannot help.
      if (opts.readOnly) this.#s.beginRead.run();
      else await beginWrite(this.#beginWrite, this.#busyTimeoutMs);
    } catch (err) {
      throw mapSqliteError(err, `sqlite ${this.path}: begin`);
    }
    let live = true;
    try {
      const value = await fn(createSqliteTx(this.#s, () => live, this.#now));
      live = false;
      this.#s.commit.run();
      if (!opts.readOnly) this.#wrote();
      return value;
    } catch (err) {
      live = false;
      if (this.#db.inTransaction) this.#s.rollback.run();
      // Driver errors become typed errors; anything else (a caller's own error) passes unchanged.
      throw err instanceof Database.SqliteError ? mapSqliteError(err, `sqlite ${this.path}`) : err;
    }
  }

  #submitShared<T>(fn: (tx: Tx) => Promise<T>, readOnly: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#shared.push({ fn, readOnly, resolve: resolve as (v: unknown) => void, reject });
      if (this.#sharedScheduled) return;
      this.#sharedScheduled = true;
      // One event-loop turn first, so the other small transactions of this turn join the group.
      setImmediate(() => this.#queueShared());
    });
  }

  #queueShared(): void {
    if (this.#sharedQueued || this.#shared.length === 0) return;
    this.#sharedQueued = true;
    const run = this.#tail.then(() => {
      // Whatever arrived until the queue reached the group joins it.
      const group = this.#shared;
      this.#shared = [];
      this.#sharedQueued = this.#sharedScheduled = false;
      if (group.some((e) => !e.readOnly)) this.#wrote();
      return runSharedGroup({ db: this.#db, s: this.#s, beginWrite: () => beginWrite(this.#beginWrite, this.#busyTimeoutMs), now: this.#now, where: `sqlite ${this.path}` }, group);
    });
    this.#tail = run.catch(() => undefined);
  }

  /** Waits for queued transactions, then closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queueShared();
    await this.#tail;
    // The thread's connection goes first, so this last one checkpoints and removes the WAL.
    await this.#checkpointer?.close();
    this.#db.close();
  }
}
