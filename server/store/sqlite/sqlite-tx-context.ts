/**
 * One SQLite transaction's context: what the repositories (sqlite-*-repos.ts) run their
 * statements through; the Tx built on it is assembled in sqlite-tx.ts. Apart from the assembly
 * so the repositories never import what imports them (no cycle), as on the PostgreSQL side.
 */
import { KeylineError } from '../../../common/errors.js';
import { mapSqliteError } from './sqlite-errors.js';
import type { Statements } from './sqlite-statements.js';

/** What the repositories of one transaction run their statements through. */
export interface SqliteTxContext {
  /** The connection's prepared statements. */
  readonly s: Statements;
  /** Runs `fn` as one repo call: refused once the transaction ended, driver errors mapped and named after `context`. */
  run<T>(context: string, fn: () => T): Promise<T>;
  /** Timestamps for records the store stamps itself. */
  now(): string;
}

/** Builds the context; `live()` turns false once the transaction ends, making it unusable. */
export function createSqliteTxContext(s: Statements, live: () => boolean, now: () => string): SqliteTxContext {
  // Every repo call goes through run(): refuse after commit, and map driver errors once.
  const run = <T>(context: string, fn: () => T): Promise<T> => {
    if (!live()) return Promise.reject(new KeylineError('STORE_ERROR', `${context}: the transaction has already ended`));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(mapSqliteError(err, context));
    }
  };
  return { s, run, now };
}
