/**
 * The Tx of one PostgreSQL transaction: every repository over one query context
 * (pg-tx-context.ts, where the locking rules are described).
 */
import type { Tx } from '../store.js';
import { createAuditRepo, createStationRepo, createUnitRepo, createWorkOrderRepo } from './pg-core-repos.js';
import { createCrlRepo, createEnrollmentRepo, createRevocationRepo } from './pg-ledger-repos.js';
import { createLeaseRepo, createOutboxRepo } from './pg-outbox-repos.js';
import { createCaRepo } from './pg-ca-repo.js';
import { createEnrollmentRequestRepo, createSupersededRepo } from './pg-est-repos.js';
import { createAttestationRepo } from './pg-attestation-repo.js';
import type { PgTxContext } from './pg-tx-context.js';

/** The Tx of one PostgreSQL transaction. */
export function createPgTx(c: PgTxContext): Tx {
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
