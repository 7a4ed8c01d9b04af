/**
 * One SQLite transaction's context and the Tx built on it. The repositories (sqlite-*-repos.ts,
 * as on the PostgreSQL side) run prepared statements synchronously and return promises only to
 * honour the async Store interface a PostgreSQL store also implements.
 */
import { KeylineError } from '../../../common/errors.js';
import type { Tx } from '../store.js';
import { mapSqliteError } from './sqlite-errors.js';
import type { Statements } from './sqlite-statements.js';
import { createAuditRepo, createStationRepo, createUnitRepo, createWorkOrderRepo } from './sqlite-core-repos.js';
import { createCrlRepo, createEnrollmentRepo, createRevocationRepo } from './sqlite-ledger-repos.js';
import { createLeaseRepo, createOutboxRepo } from './sqlite-outbox-repos.js';

/** What the repositories of one transaction run their statements through. */
export interface SqliteTxContext {
  /** The connection's prepared statements. */
  readonly s: Statements;
  /** Runs `fn` as one repo call: refused once the transaction ended, driver errors mapped and named after `context`. */
  run<T>(context: string, fn: () => T): Promise<T>;
  /** Timestamps for records the store stamps itself. */
  now(): string;
}

/** Builds the Tx object; `live()` turns false once the transaction ends, making it unusable. */
export function createSqliteTx(s: Statements, live: () => boolean, now: () => string): Tx {
  // Every repo call goes through run(): refuse after commit, and map driver errors once.
  const run = <T>(context: string, fn: () => T): Promise<T> => {
    if (!live()) return Promise.reject(new KeylineError('STORE_ERROR', `${context}: the transaction has already ended`));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(mapSqliteError(err, context));
    }
  };
  const c: SqliteTxContext = { s, run, now };
  return {
    workOrders: createWorkOrderRepo(c),
    units: createUnitRepo(c),
    stations: createStationRepo(c),
    audit: createAuditRepo(c),
    revocations: createRevocationRepo(c),
    crls: createCrlRepo(c),
    enrollment: createEnrollmentRepo(c),
    outbox: createOutboxRepo(c),
    leases: createLeaseRepo(c),
  };
}
