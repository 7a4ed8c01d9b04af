/**
 * The Tx of one SQLite transaction, assembled from the repositories (sqlite-*-repos.ts, as on
 * the PostgreSQL side). They run prepared statements synchronously and return promises only to
 * honour the async Store interface a PostgreSQL store also implements.
 */
import type { Tx } from '../store.js';
import type { Statements } from './sqlite-statements.js';
import { createSqliteTxContext } from './sqlite-tx-context.js';
import { createAuditRepo, createStationRepo, createUnitRepo, createWorkOrderRepo } from './sqlite-core-repos.js';
import { createCrlRepo, createEnrollmentRepo, createRevocationRepo } from './sqlite-ledger-repos.js';
import { createLeaseRepo, createOutboxRepo } from './sqlite-outbox-repos.js';
import { createCaRepo } from './sqlite-ca-repo.js';
import { createEnrollmentRequestRepo, createSupersededRepo } from './sqlite-est-repos.js';
import { createAttestationRepo } from './sqlite-attestation-repo.js';

/** Builds the Tx object; `live()` turns false once the transaction ends, making it unusable. */
export function createSqliteTx(s: Statements, live: () => boolean, now: () => string): Tx {
  const c = createSqliteTxContext(s, live, now);
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
    ca: createCaRepo(c),
    superseded: createSupersededRepo(c),
    enrollmentRequests: createEnrollmentRequestRepo(c),
    attestations: createAttestationRepo(c),
  };
}
