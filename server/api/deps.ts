/**
 * What the API needs, built by the composition root (main.ts) and by tests: services and plain
 * functions, never a store or a key store.
 */
import type { Logger } from 'pino';
import type { AuditVerdict } from '../audit/audit-log.js';
import type { Provisioning } from '../services/provisioning.js';
import type { ReconcileReport } from '../services/reconcile.js';
import type { Revocation } from '../services/revocation.js';
import type { AuditRecord } from '../store/store.js';
import type { ClientAuthDeps } from './middleware/mtls.js';
import type { Metrics } from './metrics.js';
import type { EstDeps } from '../est/est-deps.js';

/** What the API needs. */
export interface ApiDeps {
  provisioning: Provisioning;
  /** Revocation (POST /v1/revocations); answers NOT_SUPPORTED without it. */
  revocation?: Revocation;
  /** Read-only views for operators, officers and auditors. */
  oversight: {
    auditPage(afterSeq: number, limit: number): Promise<AuditRecord[]>;
    verifyAudit(): Promise<AuditVerdict>;
    reconcile(workOrder?: string): Promise<ReconcileReport>;
  };
  /** The issuing CA and root certificates, PEM, returned with every issued certificate. */
  chainPem: string;
  /**
   * With several issuing CAs (issue 19): the chain of the CA that signed `certificateDer`, or the
   * active CA's chain without one. Absent: chainPem for everything.
   */
  chainFor?: (certificateDer?: Uint8Array) => string;
  auth: ClientAuthDeps;
  /** EST (RFC 7030, server/est); its routes are mounted only with it. */
  est?: EstDeps;
  health: () => Promise<{ ok: boolean; checks: Record<string, unknown> }>;
  metrics: Metrics;
  log: Logger;
  bodyLimitBytes: number;
}
