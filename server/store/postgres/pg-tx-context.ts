/**
 * One PostgreSQL transaction's query context: what the repositories (pg-*-repos.ts) run their
 * SQL through, and the Tx built on it is assembled in pg-tx.ts.
 *
 * Locking (READ COMMITTED): SQLite serialises every writer (BEGIN IMMEDIATE); here a write
 * transaction takes one transaction-scoped advisory lock, the write lock, before its first read
 * that decides a write (work order, unit, station, counter, enrollment lookups) and before any
 * audit append, unit insert, revocation or CRL write. The audit chain needs that serialisation
 * anyway (each record hashes its predecessor), and taking it first fixes one lock order for
 * every transaction (write lock, then rows), so two replicas cannot deadlock on chain and rows.
 * Work that needs no chain and no check-then-act runs beside it: nonces (row lock), outbox
 * claims (SKIP LOCKED) and leases (one atomic upsert). Read-only transactions take no lock.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { KeylineError } from '../../../common/errors.js';
import { mapPgError } from './pg-errors.js';
import type { Row } from '../rows.js';

/** Advisory lock key of the store-wide write lock ('KLwrite!' as a 64-bit integer). */
export const WRITE_LOCK_KEY = BigInt('0x4b4c777269746521').toString();

/** What the repositories of one transaction run their SQL through. */
export interface PgTxContext {
  readonly readOnly: boolean;
  /** Runs one statement; driver errors become KeylineErrors named after `context`. */
  query(context: string, sql: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
  /** Like query, inside a savepoint: a refused statement (unique violation) leaves the transaction usable, as in SQLite. */
  guarded(context: string, sql: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
  /** Runs fn inside a savepoint, rolled back when fn throws or returns false (all-or-nothing batches). */
  atomically(context: string, fn: () => Promise<boolean>): Promise<boolean>;
  /** Takes the write lock once per transaction (no-op when read-only). */
  writeLock(): Promise<void>;
  /** Timestamps for records the store stamps itself. */
  now(): string;
  /** Whether BEGIN went out (a write transaction that ran a statement): only then is there something to commit. */
  began(): boolean;
  /** Settles once every statement queued so far has run (before COMMIT or ROLLBACK). */
  idle(): Promise<unknown>;
}

/**
 * Builds the context; `live()` turns false once the transaction ends, making it unusable.
 * `begin` is sent with the first statement, in the same round trip when that statement has no
 * parameters (the write lock), so a write transaction costs no round trip of its own to open;
 * null runs each statement on its own (read-only: see pg-store.ts).
 */
export function createPgTxContext(client: pg.PoolClient, readOnly: boolean, begin: string | null, live: () => boolean, now: () => string): PgTxContext {
  let locked: Promise<unknown> | undefined;
  let savepoints = 0;
  let pendingBegin = begin;
  // `b`: the BEGIN to send first (decided when the statement is queued, so in call order).
  const send = (sql: string, params: unknown[] | undefined, b: string | null): Promise<pg.QueryResult<Row>> => {
    const statement = () => client.query<Row>(params ? { name: statementName(sql), text: sql, values: params } : sql);
    if (b === null) return statement();
    // A simple query may hold several statements; node-postgres then answers with one result each.
    if (!params) return (client.query(`${b}; ${sql}`) as Promise<unknown>).then((r) => (Array.isArray(r) ? r[r.length - 1] : r) as pg.QueryResult<Row>);
    return client.query(b).then(statement);
  };
  // One connection runs one statement at a time: callers may issue several at once (Promise.all),
  // so statements queue here in call order (node-postgres deprecates queueing on the client).
  let tail: Promise<unknown> = Promise.resolve();
  const query = (context: string, sql: string, params?: unknown[]): Promise<pg.QueryResult<Row>> => {
    if (!live()) return Promise.reject(new KeylineError('STORE_ERROR', `${context}: the transaction has already ended`));
    const b = pendingBegin;
    pendingBegin = null;
    const run = tail.then(() => send(sql, params, b));
    tail = run.catch(() => undefined);
    return run.catch((err: unknown) => { throw mapPgError(err, context); });
  };
  return {
    readOnly,
    query,
    async guarded(context, sql, params) {
      const name = `k${++savepoints}`;
      await query(context, `SAVEPOINT ${name}`);
      try {
        const r = await query(context, sql, params);
        await query(context, `RELEASE SAVEPOINT ${name}`);
        return r;
      } catch (err) {
        await query(context, `ROLLBACK TO SAVEPOINT ${name}`);
        throw err;
      }
    },
    async atomically(context, fn) {
      const name = `k${++savepoints}`;
      await query(context, `SAVEPOINT ${name}`);
      let ok = false;
      try {
        ok = await fn();
        return ok;
      } finally {
        await query(context, ok ? `RELEASE SAVEPOINT ${name}` : `ROLLBACK TO SAVEPOINT ${name}`);
      }
    },
    // Statements are queued on the one connection in call order, so a read issued right after
    // (even in a concurrent Promise.all) runs only once the lock is granted.
    writeLock: () => (readOnly ? Promise.resolve() : (locked ??= query('write lock', `SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`)).then(() => undefined)),
    now,
    began: () => begin !== null && pendingBegin === null,
    idle: () => tail,
  };
}

const names = new Map<string, string>();

/**
 * A server-side prepared statement name per SQL text: each pooled connection parses and plans a
 * statement once and then only binds values (about a quarter less time per statement here).
 */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (!name) names.set(sql, (name = `k_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`));
  return name;
}
