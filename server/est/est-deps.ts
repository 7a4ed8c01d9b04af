/**
 * What the EST adapter needs, built by the composition root (server/start-est.ts) from the `est`
 * section: the labels with their resolved credentials and birth CAs, and the same services the
 * station API calls. No store, no key store.
 */
import type { X509Certificate } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import type { Metrics } from '../api/metrics.js';
import type { RevocationCheck } from '../api/middleware/mtls.js';
import type { EnrollmentApprovals } from '../services/enrollment-approvals.js';
import type { Provisioning } from '../services/provisioning.js';
import type { PasswordHash } from './password-hash.js';

/** One label, ready to serve. */
export interface EstLabel {
  name: string;
  workOrder: string;
  /** Stations of this PKI may enroll devices under this label. */
  stations: boolean;
  /** CAs whose certificates (birth certificates) may enroll. */
  birthCas: readonly X509Certificate[];
  basic?: { username: string; hash: PasswordHash };
  manualApproval: boolean;
  allowKeyReuse: boolean;
  revokeSuperseded: boolean;
  requirePopLinking: boolean;
  csrattrs: boolean;
  /** Characters per line of base64 answers (64; 0 = one line). */
  base64LineLength: number;
}

/** What the EST routes need. */
export interface EstDeps {
  labels: ReadonlyMap<string, EstLabel>;
  /** The label of the paths without one; absent: those paths answer 404. */
  defaultLabel?: string;
  realm: string;
  retryAfterSeconds: number;
  provisioning: Pick<Provisioning, 'issueUnit' | 'reissueUnit'>;
  approvals: Pick<EnrollmentApprovals, 'admit'>;
  /** The issuing CA(s) and the root, PEM (what /v1/ca/chain serves). */
  caChainPem: () => string;
  /** Whether a certificate of this PKI (lowercase hex serial) is revoked: stations are refused then. */
  isRevoked: RevocationCheck;
  metrics: Metrics;
  log: Logger;
}
