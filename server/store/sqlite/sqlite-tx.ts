/**
 * The Tx of one SQLite transaction, assembled from the repositories (sqlite-*-repos.ts, as on
 * the PostgreSQL side). They run prepared statements synchronously and return promises only to
 * honour the async Store interface a PostgreSQL store also implements.
 *
 * Each repository is built on first use: a transaction touches two or three of them, and
 * building all of them (a hundred-odd closures) cost more than the statements of a small
 * transaction (issue 13's profile of the outbox worker).
 */
import type { Tx } from '../store.js';
import type { Statements } from './sqlite-statements.js';
import { createSqliteTxContext, type SqliteTxContext } from './sqlite-tx-context.js';
import { createAuditRepo, createStationRepo, createUnitRepo, createWorkOrderRepo } from './sqlite-core-repos.js';
import { createCrlRepo, createEnrollmentRepo, createRevocationRepo } from './sqlite-ledger-repos.js';
import { createLeaseRepo, createOutboxRepo } from './sqlite-outbox-repos.js';
import { createCaRepo } from './sqlite-ca-repo.js';
import { createEnrollmentRequestRepo, createSupersededRepo } from './sqlite-est-repos.js';
import { createAttestationRepo } from './sqlite-attestation-repo.js';

// Every repository of Tx, by name (tsc checks none is missing).
const REPOS: { [K in keyof Tx]-?: (c: SqliteTxContext) => Tx[K] } = {
  workOrders: createWorkOrderRepo,
  units: createUnitRepo,
  stations: createStationRepo,
  audit: createAuditRepo,
  revocations: createRevocationRepo,
  crls: createCrlRepo,
  enrollment: createEnrollmentRepo,
  outbox: createOutboxRepo,
  leases: createLeaseRepo,
  ca: createCaRepo,
  superseded: createSupersededRepo,
  enrollmentRequests: createEnrollmentRequestRepo,
  attestations: createAttestationRepo,
};

/** One transaction's repositories, each built by its getter on first use and kept. */
class SqliteTx {
  constructor(readonly context: SqliteTxContext) {}
}
for (const [name, make] of Object.entries(REPOS) as Array<[string, (c: SqliteTxContext) => unknown]>) {
  Object.defineProperty(SqliteTx.prototype, name, {
    get(this: SqliteTx) {
      const repo = make(this.context);
      Object.defineProperty(this, name, { value: repo, enumerable: true });
      return repo;
    },
  });
}

/** Builds the Tx object; `live()` turns false once the transaction ends, making it unusable. */
export function createSqliteTx(s: Statements, live: () => boolean, now: () => string): Tx {
  return new SqliteTx(createSqliteTxContext(s, live, now)) as unknown as Tx;
}
