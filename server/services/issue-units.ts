/**
 * Issuance of one or many units in two steps, so the database write lock is never held while
 * the HSM signs (another process sharing the SQLite file would stall on it):
 *   1. a read-only pass applies the rules and signs a certificate for each unit that passes;
 *   2. one write transaction (BEGIN IMMEDIATE) re-applies every rule to fresh rows, inserts the
 *      units that still pass, bumps the issued counts, appends the audit records, and commits.
 * A certificate is returned only after step 2 commits; a certificate signed in step 1 whose
 * unit lost a race in step 2 (quota, same serial) is discarded, never released.
 */
import { createHash } from 'node:crypto';
import { ConflictError, KeylineError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { DeviceIssuer, IssuedCertificate } from '../ca/device-issuer.js';
import type { Store, Tx, UnitRecord } from '../store/store.js';
import { evaluateIssue, type IssueRequest, type IssueSnapshot } from './policies.js';

/** What a caller gets for one issued (or replayed) unit. */
export interface IssueResult {
  serial: string;
  certificateDer: Uint8Array;
  fingerprintSha256: string;
  certificateSerial: string;
  /** True when this is the earlier certificate returned to an idempotent retry. */
  replayed: boolean;
}

/** One unit's outcome in a batch. */
export type UnitOutcome = { ok: true; value: IssueResult } | { ok: false; error: KeylineError };

/** Dependencies of the issuance pipeline. */
export interface IssueDeps {
  store: Store;
  issuer: DeviceIssuer;
  now: () => Date;
  log: Logger;
}

async function snapshot(tx: Tx, req: IssueRequest, station: string): Promise<IssueSnapshot> {
  const [workOrder, bySerial, byKey] = await Promise.all([
    tx.workOrders.get(req.workOrder), tx.units.getBySerial(req.serial), tx.units.getByPublicKey(req.publicKey),
  ]);
  return { req, station, workOrder, bySerial, byKey };
}

const asError = (err: unknown): KeylineError =>
  err instanceof KeylineError ? err : new KeylineError('INTERNAL', 'issuance failed', { cause: err });

const replayOf = (u: UnitRecord): UnitOutcome => ({
  ok: true,
  value: { serial: u.serial, certificateDer: u.certificateDer, fingerprintSha256: u.fingerprintSha256, certificateSerial: u.certificateSerial, replayed: true },
});

/** Issues each request (already parsed) under the rules; one outcome per request, in order. */
export async function issueUnits(deps: IssueDeps, reqs: IssueRequest[], station: string): Promise<UnitOutcome[]> {
  const issuedAt = deps.now();
  const outcomes: (UnitOutcome | undefined)[] = new Array(reqs.length);
  const certs: (IssuedCertificate | undefined)[] = new Array(reqs.length);

  // Step 1: decide on a snapshot; count this batch's own planned issues against the quota.
  const toSign: { i: number; product: string }[] = [];
  await deps.store.transaction(async (tx) => {
    const planned = new Map<string, number>();
    for (const [i, req] of reqs.entries()) {
      try {
        const s = await snapshot(tx, req, station);
        if (s.workOrder) s.workOrder = { ...s.workOrder, issued: s.workOrder.issued + (planned.get(req.workOrder) ?? 0) };
        const { replay } = evaluateIssue(s);
        if (replay) outcomes[i] = replayOf(replay);
        else {
          planned.set(req.workOrder, (planned.get(req.workOrder) ?? 0) + 1);
          toSign.push({ i, product: s.workOrder!.product });
        }
      } catch (err) {
        outcomes[i] = { ok: false, error: asError(err) };
      }
    }
  }, { readOnly: true });

  // The HSM signs outside any write lock; the issuer's session pool runs these in parallel.
  await Promise.all(toSign.map(async ({ i, product }) => {
    const req = reqs[i]!;
    try {
      certs[i] = await deps.issuer.issue({ chipSerial: Buffer.from(req.serial, 'hex'), publicKey: req.publicKey, product, issuedAt });
    } catch (err) {
      outcomes[i] = { ok: false, error: asError(err) };
    }
  }));

  // Step 2: one write transaction re-decides on fresh rows and records. Refusals are outcomes,
  // not throws, so one unit's refusal neither aborts the others nor loses its audit record.
  const at = issuedAt.toISOString();
  await deps.store.transaction(async (tx) => {
    for (const [i, req] of reqs.entries()) {
      const prior = outcomes[i];
      // Only a duplicate key is looked at again (to audit it); other step-1 refusals stand.
      if (prior && (prior.ok || prior.error.code !== 'DUPLICATE_KEY')) continue;
      let inserted = false;
      try {
        const { replay } = evaluateIssue(await snapshot(tx, req, station));
        if (replay) { outcomes[i] = replayOf(replay); continue; }
        const cert = certs[i];
        if (!cert) continue; // refused in step 1 and not re-admitted without a certificate
        // The insert goes first: it is the only write that can fail (uniqueness), and then
        // nothing of this unit was written.
        await tx.units.insert({
          serial: req.serial, publicKey: req.publicKey, fingerprintSha256: cert.fingerprintSha256, certificateDer: cert.der,
          certificateSerial: cert.serialHex, workOrder: req.workOrder, station, status: 'issued', statusReason: null,
          idempotencyKey: req.idempotencyKey, issuedAt: at, confirmedAt: null, updatedAt: at,
        });
        inserted = true;
        await tx.workOrders.incrementIssued(req.workOrder);
        await tx.audit.append({ action: 'unit.issued', actor: station, subject: req.serial, detail: { workOrder: req.workOrder, fingerprint: cert.fingerprintSha256, certificateSerial: cert.serialHex } });
        outcomes[i] = { ok: true, value: { serial: req.serial, certificateDer: cert.der, fingerprintSha256: cert.fingerprintSha256, certificateSerial: cert.serialHex, replayed: false } };
      } catch (err) {
        // A failure after the unit row went in would leave it half-recorded: abort the whole
        // transaction instead (the rules above make this unreachable short of a bug or I/O error).
        if (inserted) throw err;
        const error = asError(err);
        outcomes[i] = { ok: false, error };
        if (error instanceof ConflictError && error.code === 'DUPLICATE_KEY') await auditDuplicate(deps, tx, req, station, error);
      }
    }
  });
  return outcomes.map((o) => o!);
}

/** The possible clone leaves a trace, committed even though its request is refused. */
async function auditDuplicate(deps: IssueDeps, tx: Tx, req: IssueRequest, station: string, error: KeylineError): Promise<void> {
  const keySha256 = createHash('sha256').update(req.publicKey).digest('hex');
  const existingSerial = error.detail?.existingSerial ?? null;
  await tx.audit.append({ action: 'unit.duplicate_key', actor: station, subject: req.serial, detail: { workOrder: req.workOrder, existingSerial, publicKeySha256: keySha256 } });
  deps.log.warn({ serial: req.serial, existingSerial, station, workOrder: req.workOrder }, 'duplicate public key refused');
}
