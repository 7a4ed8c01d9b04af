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
import type { AuditMonitor } from '../audit/audit-monitor.js';
import type { LineActivity } from '../services/line-activity.js';
import type { LineReports } from '../services/line-reports.js';
import type { OutboxAdmin } from '../services/outbox-admin.js';
import type { createScrap } from '../services/scrap-unit.js';
import type { UnitInspection } from '../services/unit-inspection.js';
import type { WorkOrderProgress } from '../services/work-order-progress.js';
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
  /** The console's services (issue 18), read by its pages and by the /v1 routes over them; absent: those routes answer NOT_SUPPORTED. */
  console?: ConsoleServices;
}

/** What the console (server/console) and the routes beside it need beyond the API's services. */
export interface ConsoleServices {
  line: LineActivity;
  lineReports: LineReports;
  inspection: UnitInspection;
  progress: WorkOrderProgress;
  outbox: OutboxAdmin;
  audit: AuditMonitor;
  scrapUnit: ReturnType<typeof createScrap>;
  /** The CRL this process serves now (its number and dates), or null before the first. */
  crl(): { number: number; thisUpdate: string; nextUpdate: string } | null;
  /** The registries a work order may name. */
  registryNames: readonly string[];
  /** HMAC key of the console's CSRF tokens: the same in every worker and replica. */
  csrfKey: Uint8Array;
  /** Most live line streams open at once (default 64): each holds a connection. */
  maxStreams?: number;
}
