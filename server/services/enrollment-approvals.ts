/**
 * Manual approval of enrollments (EST labels with `manualApproval`, RFC 7030 §4.2.3): a request
 * is recorded by label and public key and waits for an operator (`keyline est approve`); the
 * client's retries, each a newly signed CSR for the same key, find it by that key. Approval only
 * admits the request: the certificate is issued on the client's next retry, through the same
 * issuance as any other, so an approved request still meets the quota and the duplicate rules.
 */
import { createHash } from 'node:crypto';
import { KeylineError, ValidationError } from '../../common/errors.js';
import type { EnrollmentRequestRecord, EnrollmentRequestStatus, Store } from '../store/store.js';

/** What the approvals need. */
export interface EnrollmentApprovalsDeps {
  store: Store;
  now: () => Date;
}

/** A request as an operator sees it: the key by its SHA-256 (of raw X‖Y, hex). */
export interface EnrollmentRequestView {
  label: string;
  serial: string;
  publicKeySha256: string;
  requestedBy: string;
  requestedAt: string;
  status: EnrollmentRequestStatus;
  decidedBy: string | null;
  decidedAt: string | null;
}

/** Which pending requests an operator means: a label and/or serial, and/or a key SHA-256 prefix (at least 8 hex digits). */
export interface RequestSelector {
  label?: string;
  serial?: string;
  publicKeySha256?: string;
}

/** SHA-256 of a raw public key, lowercase hex: how operators name a request's key. */
export const keySha256 = (publicKey: Uint8Array): string => createHash('sha256').update(publicKey).digest('hex');

/** The operator's view of a stored request. */
export function viewOf(r: EnrollmentRequestRecord): EnrollmentRequestView {
  return {
    label: r.label, serial: r.serial, publicKeySha256: keySha256(r.publicKey), requestedBy: r.requestedBy, requestedAt: r.requestedAt,
    status: r.status, decidedBy: r.decidedBy, decidedAt: r.decidedAt,
  };
}

/** The approvals' functions. */
export type EnrollmentApprovals = ReturnType<typeof createEnrollmentApprovals>;

/** Builds the approval queue over a store. */
export function createEnrollmentApprovals(deps: EnrollmentApprovalsDeps) {
  const { store } = deps;
  return {
    /**
     * Where the request of this label and key stands; a new one is recorded as pending (audited
     * once), a pending one keeps its place and takes the newest CSR.
     */
    async admit(r: { label: string; publicKey: Uint8Array; serial: string; csrDer: Uint8Array; actor: string }): Promise<EnrollmentRequestStatus> {
      const known = await store.transaction((tx) => tx.enrollmentRequests.get(r.label, r.publicKey), { readOnly: true });
      if (known && known.status !== 'pending') return known.status;
      return store.transaction(async (tx) => {
        const before = await tx.enrollmentRequests.get(r.label, r.publicKey);
        const rec = await tx.enrollmentRequests.upsert({ label: r.label, publicKey: r.publicKey, serial: r.serial, csrDer: r.csrDer, requestedBy: r.actor, requestedAt: deps.now().toISOString() });
        if (!before) {
          await tx.audit.append({ action: 'enrollment.requested', actor: r.actor, subject: r.serial, detail: { label: r.label, publicKeySha256: keySha256(r.publicKey) } });
        }
        return rec.status;
      });
    },

    /** Approves or rejects every pending request `sel` matches (UNKNOWN_ENROLLMENT_REQUEST when none); each decision audited. */
    async decide(sel: RequestSelector, decision: 'approved' | 'rejected', actor: string): Promise<EnrollmentRequestView[]> {
      const prefix = sel.publicKeySha256?.toLowerCase();
      if (prefix !== undefined && !/^[0-9a-f]{8,64}$/.test(prefix)) throw new ValidationError('VALIDATION_FAILED', `publicKeySha256: 8 to 64 hex digits, got '${sel.publicKeySha256}'`);
      if (!sel.label && !sel.serial && !prefix) throw new ValidationError('VALIDATION_FAILED', 'name the request: a label, a serial and/or a key SHA-256 prefix');
      return store.transaction(async (tx) => {
        const pending = (await tx.enrollmentRequests.list({ status: 'pending', ...(sel.label ? { label: sel.label } : {}), ...(sel.serial ? { serial: sel.serial.toUpperCase() } : {}), limit: 1000 }))
          .filter((r) => !prefix || keySha256(r.publicKey).startsWith(prefix));
        if (pending.length === 0) throw new KeylineError('UNKNOWN_ENROLLMENT_REQUEST', `no pending enrollment request matches ${JSON.stringify(sel)}`, { detail: { ...sel } });
        const at = deps.now().toISOString();
        const out: EnrollmentRequestView[] = [];
        for (const r of pending) {
          await tx.enrollmentRequests.decide(r.label, r.publicKey, decision, actor, at);
          await tx.audit.append({ action: `enrollment.${decision}`, actor, subject: r.serial, detail: { label: r.label, publicKeySha256: keySha256(r.publicKey) } });
          out.push(viewOf({ ...r, status: decision, decidedBy: actor, decidedAt: at }));
        }
        return out;
      });
    },

    /** Requests by status, label and serial, oldest first. */
    async list(q: { status?: EnrollmentRequestStatus; label?: string; serial?: string; limit?: number } = {}): Promise<EnrollmentRequestView[]> {
      const rows = await store.transaction((tx) => tx.enrollmentRequests.list({ ...q, limit: q.limit ?? 1000 }), { readOnly: true });
      return rows.map(viewOf);
    },
  };
}
