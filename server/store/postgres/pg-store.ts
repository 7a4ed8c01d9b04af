/**
 * The PostgreSQL Store: a node-postgres Pool, one pooled connection per transaction, READ
 * COMMITTED plus the explicit locks described in pg-tx.ts. Any number of PgStores (replicas)
 * may share one database; the guarantees of store.ts hold across them.
 *
 * Lock and serialisation failures (40P01 deadlock, 40001) are not retried here: a retry would
 * re-run the caller's body, and the bodies have effects outside the database: group-commit.ts
 * takes its batch from a shared queue inside the body and resolves per-item callbacks,
 * issue-units.ts hands out outcomes and logs, so a re-run would lose or duplicate work. They
 * become STORE_ERROR (HTTP 503, the station retries with its idempotency key). The lock order
 * of pg-tx.ts makes deadlocks between Keyline's own transactions impossible in the first place.
 */
import pg from 'pg';
import { KeylineError } from '../../../common/errors.js';
import type { Store, Tx, TxOptions } from '../store.js';
import { mapPgError } from './pg-errors.js';
import { hasSchema, migratePg } from './pg-migrate.js';
import { PG_TYPES } from './pg-rows.js';
import { createPgTx } from './pg-tx.js';
import { createPgTxContext } from './pg-tx-context.js';

/** Options of a PgStore. */
export interface PgStoreOptions {
  /** Pool size (connections); default 10. */
  pool?: number;
  /** Refuse a database without Keyline's schema instead of creating it (inspection commands). */
  mustExist?: boolean;
  /** Timestamps for records the store stamps itself (tests pass a fixed clock). */
  now?: () => string;
  /**
   * Queue this process's write transactions (default true, see transaction()). Race tests turn
   * it off to let one process's transactions contend in the database as many replicas' would.
   */
  queueWrites?: boolean;
}

/** The PostgreSQL implementation of Store. */
export class PgStore implements Store {
  readonly #pool: pg.Pool;
  readonly #now: () => string;
  readonly #where: string;
  readonly #queueWrites: boolean;
  #running = new Set<Promise<unknown>>();
  // Tail of this process's write-transaction queue.
  #writes: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(pool: pg.Pool, where: string, now: () => string, queueWrites: boolean) {
    this.#pool = pool;
    this.#where = where;
    this.#now = now;
    this.#queueWrites = queueWrites;
  }

  /** Connects to `url` (postgres://user@host:port/db) and migrates the schema. */
  static async open(url: string, opts: PgStoreOptions = {}): Promise<PgStore> {
    const pool = new pg.Pool({
      connectionString: url, max: opts.pool ?? 10, types: PG_TYPES, application_name: 'keyline',
      // A replica that hangs (frozen, partitioned) must not hold the write lock for ever: the
      // server ends a transaction left idle for 30 s, which releases its locks; a waiter gives
      // up after 30 s (STORE_ERROR, retried by the caller) instead of queueing without bound.
      // Keepalive lets either side notice a peer that vanished without closing the socket.
      idle_in_transaction_session_timeout: 30_000, lock_timeout: 30_000, connectionTimeoutMillis: 30_000, keepAlive: true,
      // Read-only transactions run their statements without BEGIN/COMMIT (see #run): the
      // session default makes each of them read only; write transactions say READ WRITE.
      options: '-c default_transaction_read_only=on',
    });
    // An idle pooled connection whose server went away emits 'error' on the pool; without a
    // listener that would crash the process. The pool drops it and the next checkout reconnects.
    pool.on('error', () => undefined);
    const where = describe(url);
    try {
      const client = await pool.connect().catch((err: unknown) => { throw mapPgError(err, `postgres ${where}: connect`); });
      try {
        if (opts.mustExist && !(await hasSchema(client))) throw new KeylineError('STORE_ERROR', `store.url: no Keyline database at ${where} (no schema_migrations)`);
        await migratePg(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return new PgStore(pool, where, opts.now ?? (() => new Date().toISOString()), opts.queueWrites ?? true);
  }

  /**
   * Runs fn in one READ COMMITTED transaction (READ ONLY when asked) on a pooled connection.
   * Write transactions of this process run one after another, as in SqliteStore: group commit
   * (services/group-commit.ts) then gathers everything that arrived while the previous one ran,
   * and a process never holds several connections waiting for the write lock. Read-only
   * transactions run in parallel on the pool; other replicas are kept apart by the database's locks.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new KeylineError('STORE_ERROR', `postgres ${this.#where}: store is closed`));
    const readOnly = opts.readOnly === true;
    let p: Promise<T>;
    if (readOnly || !this.#queueWrites) p = this.#run(fn, readOnly);
    else {
      p = this.#writes.then(() => this.#run(fn, false));
      this.#writes = p.catch(() => undefined);
    }
    this.#running.add(p);
    const done = () => this.#running.delete(p);
    p.then(done, done);
    return p;
  }

  async #run<T>(fn: (tx: Tx) => Promise<T>, readOnly: boolean): Promise<T> {
    const context = `postgres ${this.#where}`;
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw mapPgError(err, `${context}: connect`);
    }
    let live = true;
    let broken: Error | undefined;
    // A read-only transaction sends no BEGIN or COMMIT: under READ COMMITTED every statement
    // takes its own snapshot inside a transaction too, so running each as its own implicit
    // transaction (read only by the session default) reads exactly the same, two round trips
    // cheaper. A write transaction's BEGIN goes out with its first statement (pg-tx.ts).
    const ctx = createPgTxContext(client, readOnly, readOnly ? null : 'BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE', () => live, this.#now);
    try {
      const value = await fn(createPgTx(ctx));
      live = false;
      await ctx.idle();
      if (ctx.began()) await client.query('COMMIT').catch((e: unknown) => { throw mapPgError(e, `${context}: commit`); });
      return value;
    } catch (err) {
      live = false;
      await ctx.idle();
      if (ctx.began()) await client.query('ROLLBACK').catch((e: Error) => { broken = e; });
      // Repository calls and BEGIN/COMMIT already threw typed errors; a caller's own error passes unchanged.
      throw err instanceof pg.DatabaseError ? mapPgError(err, context) : err;
    } finally {
      // A connection that could not even roll back is discarded rather than reused.
      client.release(broken);
    }
  }

  /** Waits for running transactions, then closes the pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#running]);
    await this.#pool.end();
  }
}

/** host:port/db of a URL, without user or password, for messages. */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return '(unparsable url)';
  }
}
