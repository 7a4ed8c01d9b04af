/**
 * What the `station-api` (service level) and `station-http` (HTTPS through createApp) targets
 * share: the work orders made before a run, the callers, valid request bodies of every route
 * (with fresh keys, serials drawn from a small space so flows meet, CSRs), the judge of an issued
 * certificate, and the store invariants checked after the run against what was answered.
 */
import { createHash, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { ERROR_TABLE, type ErrorCode } from '../common/errors.js';
import type { Actor } from '../common/roles.js';
import { verifyAuditChain } from '../server/audit/audit-log.js';
import { p256FromSeed, serialOf, type ProvisioningBed } from './bed.js';
import type { CsrSample } from './csr-samples.js';
import { describe, ensure, FuzzFinding } from './harness.js';

/** The callers: two stations, an operator, the security officer, an auditor. */
export const ACTORS: Actor[] = [
  { id: 'station-01', role: 'station' }, { id: 'station-02', role: 'station' }, { id: 'operator-01', role: 'operator' },
  { id: 'officer-01', role: 'security-officer' }, { id: 'auditor-01', role: 'auditor' },
];

/** Work orders made before the run: unlimited, nearly full, for station-02 only, queued preregistration, closed. */
export const PRESET = [
  { id: 'WO-OPEN', product: 'Sensor', quota: 100_000_000 },
  { id: 'WO-SMALL', product: 'Sensor', quota: 3 },
  { id: 'WO-S2', product: 'Gateway', quota: 100_000_000, stations: ['station-02'] },
  { id: 'WO-QUEUED', product: 'Sensor', quota: 100_000_000, preregistration: 'queued' as const },
  { id: 'WO-CLOSED', product: 'Sensor', quota: 10 },
];
/** Every work order id a request may name. */
export const WO_IDS = [...PRESET.map((w) => w.id), ...Array.from({ length: 12 }, (_, i) => `WO-${i}`)];
/** Orders never closed or shrunk by the run: closing them would end issuance for the rest of it. */
export const OPEN_ORDERS = ['WO-OPEN', 'WO-S2', 'WO-QUEUED'];
/** Ids a close or update may name: the others, and a few that are not ids. */
export const MUTABLE_ORDER = fc.constantFrom(...WO_IDS.filter((w) => !OPEN_ORDERS.includes(w)), '', 'wo-small', 'WO-%2F', 'x'.repeat(65));
/** Stands for the issued certificate's fingerprint in a confirm body; replaced when the unit exists. */
export const FP = '__FINGERPRINT__';

/** The body-carrying operations. */
export type BodyOp = 'createWorkOrder' | 'updateWorkOrder' | 'closeWorkOrder' | 'issueUnit' | 'issueBatch' | 'confirmUnit' | 'quarantineUnit' | 'releaseUnit';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const spkiB64 = (raw: Uint8Array) => Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), Buffer.from([4]), raw]).toString('base64');

/** Work order ids: mostly real ones, some that are not ids. */
export const woId = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...WO_IDS) }, { weight: 1, arbitrary: fc.constantFrom('', 'wo-open', 'WO OPEN', '../x', 'WO-%2F', 'x'.repeat(65)) });
/** Serials from a small space, so issue, confirm and quarantine meet the same units. */
export const unitSerial = fc.nat(1500).map(serialOf);

/** Valid bodies of every operation (the run then edits them into hostile ones). */
export function validBodies(csrs: readonly CsrSample[]): Record<BodyOp, fc.Arbitrary<Record<string, unknown>>> {
  const key = fc.nat(4000).map((n) => p256FromSeed(n));
  const unit = fc.record({
    serial: fc.oneof({ weight: 8, arbitrary: unitSerial }, { weight: 1, arbitrary: unitSerial.map((s) => s.toLowerCase()) }),
    key: fc.oneof(
      { weight: 5, arbitrary: key.map((k) => ({ publicKey: hex(k) })) },
      { weight: 2, arbitrary: key.map((k) => ({ publicKey: spkiB64(k) })) },
      { weight: 1, arbitrary: fc.constantFrom(...csrs).map((c) => ({ csr: c.pem })) },
    ),
    workOrder: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...OPEN_ORDERS) }, { weight: 1, arbitrary: woId }),
    idempotencyKey: fc.option(fc.nat(40).map((n) => `k-${n}`), { freq: 3 }),
  }).map(({ key: k, idempotencyKey, ...u }) => ({ ...u, ...k, ...(idempotencyKey === null ? {} : { idempotencyKey }) }));
  const stations = fc.option(fc.subarray(['station-01', 'station-02', 'station-03']), { nil: undefined });
  return {
    createWorkOrder: fc.record({
      id: woId, product: fc.constantFrom('Sensor', 'Gateway'), quota: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(100_000_000)), stations,
      registries: fc.option(fc.constant(['self']), { nil: undefined }), preregistration: fc.option(fc.constantFrom('confirmed', 'queued'), { nil: undefined }),
    }, { requiredKeys: ['id', 'product', 'quota'] }),
    updateWorkOrder: fc.record({ quota: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(100_000_000)), stations: fc.option(fc.subarray(['station-01', 'station-02'])) }, { requiredKeys: [] }),
    closeWorkOrder: fc.constant({}),
    issueUnit: unit,
    issueBatch: fc.record({ units: fc.array(unit, { minLength: 1, maxLength: 6 }) }),
    confirmUnit: fc.record({ fingerprintSha256: fc.oneof({ weight: 6, arbitrary: fc.constant(FP) }, { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-f]{64}$/) }) }),
    quarantineUnit: fc.record({ reason: fc.constantFrom('failed verification', 'suspected clone', 'x') }),
    releaseUnit: fc.record({ reason: fc.constantFrom('cleared', 'false alarm') }),
  };
}

/** True when an error is a refusal the API shows the caller (not a 5xx it hides), REGISTRATION_PENDING aside. */
export function isExposedRefusal(code: ErrorCode): boolean {
  const m = ERROR_TABLE[code];
  return m.expose && (m.http < 500 || code === 'REGISTRATION_PENDING');
}

/** What the run saw answered, for the invariants at the end. */
export interface Model {
  units: Map<string, { fingerprint: string; workOrder: string }>;
  workOrders: Set<string>;
}

/** Makes the preset work orders; returns the model that starts from them. */
export async function presetStation(bed: ProvisioningBed): Promise<Model> {
  for (const w of PRESET) await bed.prov.createWorkOrder(w, 'operator-01');
  await bed.prov.closeWorkOrder('WO-CLOSED', 'operator-01');
  return { units: new Map(), workOrders: new Set(PRESET.map((w) => w.id)) };
}

/** Rows written so far (units and work orders are never deleted, so max(rowid) counts them). */
export function writeMarks(bed: ProvisioningBed): () => { units: number; orders: number } {
  const units = bed.db.prepare('SELECT coalesce(max(rowid), 0) FROM units').pluck();
  const orders = bed.db.prepare('SELECT coalesce(max(rowid), 0) FROM work_orders').pluck();
  return () => ({ units: units.get() as number, orders: orders.get() as number });
}

/** One issued certificate as answered. */
export interface IssuedAnswer {
  serial: string;
  certificateDer: Uint8Array;
  fingerprintSha256: string;
  replayed: boolean;
}

/** Checks one issued certificate against its request (as sent, or as the schema parsed it), and records it. */
export function judgeIssued(r: IssuedAnswer, sent: { serial: string; publicKey?: string; key?: { publicKey?: string }; workOrder: string }, model: Model): void {
  const req = { serial: sent.serial, workOrder: sent.workOrder, publicKey: sent.publicKey ?? sent.key?.publicKey };
  ensure(r.serial === req.serial.toUpperCase(), `issued serial ${r.serial} for request ${req.serial}`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(r.certificateDer));
  } catch (err) {
    throw new FuzzFinding(`issued certificate does not parse: ${describe(err)}`);
  }
  ensure(createHash('sha256').update(r.certificateDer).digest('hex') === r.fingerprintSha256, 'fingerprint is not the SHA-256 of the DER');
  ensure(cert.subject.includes(`CN=${r.serial}`), () => `certificate subject ${cert.subject} does not name ${r.serial}`);
  if (req.publicKey !== undefined) {
    const raw = cert.publicKey.export({ format: 'der', type: 'spki' }).subarray(-64).toString('hex');
    const k = req.publicKey.trim();
    const sentKey = /^[0-9a-fA-F]{128,130}$/.test(k) ? k.slice(-128).toLowerCase() : Buffer.from(k, 'base64').subarray(-64).toString('hex');
    ensure(raw === sentKey, `certificate key ${raw.slice(0, 16)}… is not the key sent ${sentKey.slice(0, 16)}…`);
  }
  const known = model.units.get(r.serial);
  if (r.replayed) ensure(known?.fingerprint === r.fingerprintSha256, `replay of ${r.serial} answered a certificate the run never issued`);
  else ensure(!known, `${r.serial} issued twice`);
  model.units.set(r.serial, { fingerprint: r.fingerprintSha256, workOrder: req.workOrder });
}

/** The store invariants, read through a second connection, and the audit chain. */
export async function checkStore(bed: ProvisioningBed, model: Model): Promise<void> {
  const db = bed.db;
  const units = db.prepare('SELECT serial, fingerprint_sha256 AS fp, work_order AS wo, status FROM units').all() as Array<{ serial: string; fp: string; wo: string; status: string }>;
  ensure(units.length === model.units.size, `${units.length} units stored, ${model.units.size} answered as issued`);
  for (const u of units) {
    const m = model.units.get(u.serial);
    ensure(m && m.fingerprint === u.fp && m.workOrder === u.wo, `stored unit ${u.serial} is not the one answered`);
  }
  const count = (sql: string) => db.prepare(sql).pluck().get() as number;
  const missingAudit = count(`SELECT count(*) FROM units u WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject = u.serial AND a.action = 'unit.issued')`);
  ensure(missingAudit === 0, `${missingAudit} units without their unit.issued audit record`);
  const missingStatusAudit = count(`SELECT count(*) FROM units u WHERE u.status IN ('confirmed', 'quarantined') AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject = u.serial AND a.action = 'unit.' || u.status)`);
  ensure(missingStatusAudit === 0, `${missingStatusAudit} confirmed/quarantined units without the audit record of that change`);
  // Every registry the unit's work order names: Keyline's own registration written with the unit,
  // or a cloud registry's queued job (issuing without either is "a fingerprint logged but never preregistered").
  const missingJob = count(`SELECT count(*) FROM units u JOIN work_orders w ON w.id = u.work_order, json_each(w.registries) r
    WHERE NOT EXISTS (SELECT 1 FROM registrations g WHERE g.serial = u.serial AND g.registry = r.value)
      AND NOT EXISTS (SELECT 1 FROM outbox_jobs j WHERE j.serial = u.serial AND j.registry = r.value AND j.action = 'register')`);
  ensure(missingJob === 0, `${missingJob} registrations missing: units neither registered nor queued for a registry their work order names`);
  const orders = db.prepare('SELECT w.id, w.quota, w.issued, (SELECT count(*) FROM units u WHERE u.work_order = w.id) AS n FROM work_orders w').all() as Array<{ id: string; quota: number; issued: number; n: number }>;
  ensure(orders.length === model.workOrders.size && orders.every((o) => model.workOrders.has(o.id)), `work orders stored ${orders.map((o) => o.id).join(',')} are not the ones answered`);
  for (const o of orders) ensure(o.issued === o.n && o.issued <= o.quota, `work order ${o.id}: issued ${o.issued}, units ${o.n}, quota ${o.quota}`);
  const chain = await verifyAuditChain(bed.store);
  ensure(chain.ok, () => `audit chain broken: ${JSON.stringify(chain)}`);
}
