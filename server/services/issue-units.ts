/**
 * Issuance of one or many units in two steps, so the database write lock is never held while
 * the HSM signs (another process sharing the SQLite file would stall on it):
 *   1. a read-only pass applies the rules and signs a certificate for each unit that passes;
 *   2. one write transaction (BEGIN IMMEDIATE, shared with concurrent calls: group-commit.ts)
 *      re-applies every rule to fresh rows, inserts the units that still pass, bumps the issued
 *      counts, appends the audit records, and commits.
 * A certificate is returned only after step 2 commits; a certificate signed in step 1 whose
 * unit lost a race in step 2 (quota, same serial) is discarded, never released.
 *
 * Both steps read a whole batch's rows at once and step 2 writes them with one statement per
 * table: on PostgreSQL every statement is a network round trip, made under
 * the write lock in step 2.
 */
import { createHash } from 'node:crypto';
import { ConflictError, KeylineError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { DeviceIssuer, IssuedCertificate } from '../ca/device-issuer.js';
import type { AuditEntry, OutboxAction, Store, Tx, UnitRecord, WorkOrderRecord } from '../store/store.js';
import { createGroupCommit } from './group-commit.js';
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

/** A batch's rows, read with two statements: orders by id, units by serial and by key (hex). */
interface BatchRows {
  orders: Map<string, WorkOrderRecord>;
  bySerial: Map<string, UnitRecord>;
  byKey: Map<string, UnitRecord>;
}

const keyHex = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');

async function readRows(tx: Tx, reqs: IssueRequest[]): Promise<BatchRows> {
  const [orders, units] = await Promise.all([
    tx.workOrders.getMany(reqs.map((r) => r.workOrder)),
    tx.units.findBySerialsOrKeys(reqs.map((r) => r.serial), reqs.map((r) => r.publicKey)),
  ]);
  return {
    orders: new Map(orders.map((o) => [o.id, o])),
    bySerial: new Map(units.map((u) => [u.serial, u])),
    byKey: new Map(units.map((u) => [keyHex(u.publicKey), u])),
  };
}

/** The snapshot `snapshot()` would read for one request, taken from a batch's rows. */
const snapshotOf = (rows: BatchRows, req: IssueRequest, station: string): IssueSnapshot => ({
  req, station, workOrder: rows.orders.get(req.workOrder) ?? null, bySerial: rows.bySerial.get(req.serial) ?? null, byKey: rows.byKey.get(keyHex(req.publicKey)) ?? null,
});

const asError = (err: unknown): KeylineError =>
  err instanceof KeylineError ? err : new KeylineError('INTERNAL', 'issuance failed', { cause: err });

const replayOf = (u: UnitRecord): UnitOutcome => ({
  ok: true,
  value: { serial: u.serial, certificateDer: u.certificateDer, fingerprintSha256: u.fingerprintSha256, certificateSerial: u.certificateSerial, replayed: true },
});

/** One unit handed to the recording step. */
interface Pending {
  req: IssueRequest;
  station: string;
  at: string;
  cert: IssuedCertificate | undefined;
  prior: UnitOutcome | undefined;
  done(outcome: UnitOutcome | undefined): void;
}

/** Builds the issue pipeline; returns `issueUnits(requests, station)`, one outcome per request. */
export function createIssuePipeline(deps: IssueDeps): (reqs: IssueRequest[], station: string) => Promise<UnitOutcome[]> {
  // Step 2 of every concurrent call shares write transactions (group commit).
  const record = createGroupCommit<Pending>(deps.store, (tx, items) => recordBatch(deps, tx, items));

  return async function issueUnits(reqs, station) {
    const issuedAt = deps.now();
    const outcomes: (UnitOutcome | undefined)[] = new Array(reqs.length);
    const certs: (IssuedCertificate | undefined)[] = new Array(reqs.length);

    // Step 1: decide on a snapshot; count this batch's own planned issues against the quota.
    const toSign: { i: number; product: string }[] = [];
    await deps.store.transaction(async (tx) => {
      const rows = await readRows(tx, reqs);
      const planned = new Map<string, number>();
      for (const [i, req] of reqs.entries()) {
        try {
          const s = snapshotOf(rows, req, station);
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

    // Step 2: re-decide on fresh rows and record, in a shared write transaction. Only a
    // duplicate key is looked at again among step-1 refusals (to audit it); the others stand.
    const at = issuedAt.toISOString();
    const items: Pending[] = [];
    reqs.forEach((req, i) => {
      const prior = outcomes[i];
      if (prior && (prior.ok || prior.error.code !== 'DUPLICATE_KEY')) return;
      items.push({ req, station, at, cert: certs[i], prior, done: (o) => { if (o) outcomes[i] = o; } });
    });
    if (items.length) await record(items);
    return outcomes.map((o) => o!);
  };
}

/**
 * Records a group inside the write transaction: re-applies the rules to rows read once (under
 * the write lock on PostgreSQL), each unit seeing the ones before it as a loop of recordOne
 * would, then writes units, issued counts, outbox jobs and audit records with one statement
 * each. If the database refuses a unit the rules passed (a certificate serial or fingerprint
 * recorded before), nothing was written and the group is recorded one unit at a time instead,
 * which names each refusal.
 */
async function recordBatch(deps: IssueDeps, tx: Tx, items: Pending[]): Promise<void> {
  const rows = await readRows(tx, items.map((p) => p.req));
  const outcomes: (UnitOutcome | undefined)[] = [];
  const units: UnitRecord[] = [];
  const counts = new Map<string, number>();
  const jobs: Array<{ serial: string; registry: string; action: OutboxAction; at: string }> = [];
  const audit: AuditEntry[] = [];
  const duplicates: Array<() => void> = [];
  for (const { req, station, cert, at } of items) {
    try {
      const snap = snapshotOf(rows, req, station);
      const { replay } = evaluateIssue(snap);
      if (replay) { outcomes.push(replayOf(replay)); continue; }
      if (!cert) { outcomes.push(undefined); continue; } // refused in step 1 and not re-admitted without a certificate
      const wo = snap.workOrder!;
      const unit: UnitRecord = {
        serial: req.serial, publicKey: req.publicKey, fingerprintSha256: cert.fingerprintSha256, certificateDer: cert.der,
        certificateSerial: cert.serialHex, workOrder: req.workOrder, station, status: 'issued', statusReason: null,
        idempotencyKey: req.idempotencyKey, issuedAt: at, confirmedAt: null, updatedAt: at,
      };
      // Later units of the group see this one and its count, as they would its rows.
      units.push(unit);
      rows.bySerial.set(unit.serial, unit);
      rows.byKey.set(keyHex(unit.publicKey), unit);
      rows.orders.set(wo.id, { ...wo, issued: wo.issued + 1 });
      counts.set(wo.id, (counts.get(wo.id) ?? 0) + 1);
      // Preregistration jobs go in the unit's own transaction: a unit never exists without them.
      for (const registry of wo.registries ?? ['self']) jobs.push({ serial: req.serial, registry, action: 'register', at });
      audit.push({ action: 'unit.issued', actor: station, subject: req.serial, detail: { workOrder: req.workOrder, fingerprint: cert.fingerprintSha256, certificateSerial: cert.serialHex } });
      outcomes.push({ ok: true, value: { serial: req.serial, certificateDer: cert.der, fingerprintSha256: cert.fingerprintSha256, certificateSerial: cert.serialHex, replayed: false } });
    } catch (err) {
      const error = asError(err);
      if (error instanceof ConflictError && error.code === 'DUPLICATE_KEY') {
        const d = duplicateEntry(req, station, error);
        audit.push(d.entry);
        duplicates.push(() => deps.log.warn(d.log, 'duplicate public key refused'));
      }
      outcomes.push({ ok: false, error });
    }
  }
  if (!(await tx.units.insertMany(units))) {
    for (const item of items) item.done(await recordOne(deps, tx, item));
    return;
  }
  // The rules counted against the quota read under the lock; the database re-checks it here.
  for (const [id, n] of counts) await tx.workOrders.incrementIssued(id, n);
  await tx.outbox.enqueueMany(jobs);
  await tx.audit.appendMany(audit);
  duplicates.forEach((warn) => warn());
  items.forEach((p, i) => p.done(outcomes[i]));
}

/**
 * Records one unit inside the write transaction, re-applying the rules first. Refusals are
 * outcomes, not throws, so one unit's refusal neither aborts the others nor loses its audit record.
 */
async function recordOne(deps: IssueDeps, tx: Tx, p: Pending): Promise<UnitOutcome | undefined> {
  const { req, station, cert, at } = p;
  let inserted = false;
  try {
    const snap = await snapshot(tx, req, station);
    const { replay } = evaluateIssue(snap);
    if (replay) return replayOf(replay);
    if (!cert) return undefined; // refused in step 1 and not re-admitted without a certificate
    // The insert goes first: it is the only write that can fail (uniqueness), and then nothing
    // of this unit was written.
    await tx.units.insert({
      serial: req.serial, publicKey: req.publicKey, fingerprintSha256: cert.fingerprintSha256, certificateDer: cert.der,
      certificateSerial: cert.serialHex, workOrder: req.workOrder, station, status: 'issued', statusReason: null,
      idempotencyKey: req.idempotencyKey, issuedAt: at, confirmedAt: null, updatedAt: at,
    });
    inserted = true;
    await tx.workOrders.incrementIssued(req.workOrder);
    // Preregistration jobs go in the unit's own transaction: a unit never exists without them.
    for (const registry of snap.workOrder?.registries ?? ['self']) {
      await tx.outbox.enqueue({ serial: req.serial, registry, action: 'register', at });
    }
    await tx.audit.append({ action: 'unit.issued', actor: station, subject: req.serial, detail: { workOrder: req.workOrder, fingerprint: cert.fingerprintSha256, certificateSerial: cert.serialHex } });
    return { ok: true, value: { serial: req.serial, certificateDer: cert.der, fingerprintSha256: cert.fingerprintSha256, certificateSerial: cert.serialHex, replayed: false } };
  } catch (err) {
    // A failure after the unit row went in would leave it half-recorded: abort the whole
    // transaction instead (the rules above make this unreachable short of a bug or I/O error).
    if (inserted) throw err;
    const error = asError(err);
    if (error instanceof ConflictError && error.code === 'DUPLICATE_KEY') await auditDuplicate(deps, tx, req, station, error);
    return { ok: false, error };
  }
}

/** The audit record and log fields of a refused duplicate key. */
function duplicateEntry(req: IssueRequest, station: string, error: KeylineError): { entry: AuditEntry; log: Record<string, unknown> } {
  const keySha256 = createHash('sha256').update(req.publicKey).digest('hex');
  const existingSerial = error.detail?.existingSerial ?? null;
  return {
    entry: { action: 'unit.duplicate_key', actor: station, subject: req.serial, detail: { workOrder: req.workOrder, existingSerial, publicKeySha256: keySha256 } },
    log: { serial: req.serial, existingSerial, station, workOrder: req.workOrder },
  };
}

/** The possible clone leaves a trace, committed even though its request is refused. */
async function auditDuplicate(deps: IssueDeps, tx: Tx, req: IssueRequest, station: string, error: KeylineError): Promise<void> {
  const d = duplicateEntry(req, station, error);
  await tx.audit.append(d.entry);
  deps.log.warn(d.log, 'duplicate public key refused');
}
