/**
 * Step 2 of issuance (issue-units.ts): recording a group of signed units inside the shared
 * write transaction. The rules are re-applied to rows read under the lock; a group is written
 * with one statement per table, and falls back to one unit at a time when the database refuses
 * a unit the rules passed, so each refusal is named and nothing is half-written.
 */
import { createHash } from 'node:crypto';
import { ConflictError, KeylineError } from '../../common/errors.js';
import type { IssuedCertificate } from '../ca/device-issuer.js';
import type { AuditEntry, OutboxAction, RegistrationRecord, Tx, UnitAttestationRecord, UnitRecord } from '../store/store.js';
import { SELF_REGISTRY, selfRegistration } from '../registry/self-registry.js';
import { asError, keyHex, readRows, replayOf, snapshotOf, type IssueDeps, type UnitOutcome } from './issuance.js';
import { evaluateIssue, type IssueRequest, type IssueSnapshot } from './policies.js';

async function snapshot(tx: Tx, req: IssueRequest, station: string): Promise<IssueSnapshot> {
  const [workOrder, bySerial, byKey] = await Promise.all([
    tx.workOrders.get(req.workOrder), tx.units.getBySerial(req.serial), tx.units.getByPublicKey(req.publicKey),
  ]);
  return { req, station, workOrder, bySerial, byKey };
}

/** One unit handed to the recording step. */
export interface Pending {
  req: IssueRequest;
  station: string;
  at: string;
  cert: IssuedCertificate | undefined;
  prior: UnitOutcome | undefined;
  done(outcome: UnitOutcome | undefined): void;
}

/**
 * Records a group inside the write transaction: re-applies the rules to rows read once (under
 * the write lock on PostgreSQL), each unit seeing the ones before it as a loop of recordOne
 * would, then writes units, issued counts, self registrations, outbox jobs and audit records
 * with one statement each. If the database refuses a unit the rules passed (a certificate serial or fingerprint
 * recorded before), nothing was written and the group is recorded one unit at a time instead,
 * which names each refusal.
 */
export async function recordBatch(deps: IssueDeps, tx: Tx, items: Pending[]): Promise<void> {
  const rows = await readRows(tx, items.map((p) => p.req));
  const outcomes: (UnitOutcome | undefined)[] = [];
  const units: UnitRecord[] = [];
  const counts = new Map<string, number>();
  const jobs: Array<{ serial: string; registry: string; action: OutboxAction; at: string }> = [];
  const registrations: RegistrationRecord[] = [];
  const audit: AuditEntry[] = [];
  const attestations: UnitAttestationRecord[] = [];
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
      // Preregistration goes in the unit's own transaction: a unit never exists without its self
      // registration and the jobs that announce it to the other registries.
      for (const registry of wo.registries ?? [SELF_REGISTRY]) {
        if (registry === SELF_REGISTRY) registrations.push(selfRegistration(req.serial, at));
        else jobs.push({ serial: req.serial, registry, action: 'register', at });
      }
      // The key-origin evidence goes with the unit too (issue 15).
      if (req.keyOrigin) attestations.push(attestationRecord(req, at));
      audit.push({ action: 'unit.issued', actor: station, subject: req.serial, detail: issuedDetail(req, cert) });
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
  await tx.outbox.addRegistrations(registrations);
  await tx.outbox.enqueueMany(jobs);
  await tx.attestations.insertMany(attestations);
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
    // Preregistration goes in the unit's own transaction, as in recordBatch.
    for (const registry of snap.workOrder?.registries ?? [SELF_REGISTRY]) {
      if (registry === SELF_REGISTRY) await tx.outbox.addRegistrations([selfRegistration(req.serial, at)]);
      else await tx.outbox.enqueue({ serial: req.serial, registry, action: 'register', at });
    }
    if (req.keyOrigin) await tx.attestations.insertMany([attestationRecord(req, at)]);
    await tx.audit.append({ action: 'unit.issued', actor: station, subject: req.serial, detail: issuedDetail(req, cert) });
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

/** The unit.issued audit detail: the certificate, and what the key-origin evidence established when there was any. */
function issuedDetail(req: IssueRequest, cert: IssuedCertificate): Record<string, unknown> {
  const detail: Record<string, unknown> = { workOrder: req.workOrder, fingerprint: cert.fingerprintSha256, certificateSerial: cert.serialHex };
  if (req.keyOrigin) detail.keyOrigin = req.keyOrigin.status;
  return detail;
}

/** The unit's key-origin evidence as stored. */
function attestationRecord(req: IssueRequest, at: string): UnitAttestationRecord {
  const k = req.keyOrigin!;
  return { serial: req.serial, chip: k.chip, format: k.format, status: k.status, reason: k.reason, evidence: k.evidence, facts: k.facts, recordedAt: at };
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
