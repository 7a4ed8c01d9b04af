/**
 * Target `station-api`: the station API's request path below HTTP, as the route handlers run it:
 * body text → common/json-strict.ts parseJsonStrict → the route's zod schema (server/api's
 * validate) → the provisioning service (createWorkOrder, updateWorkOrder, closeWorkOrder,
 * issueUnit, issueBatch, confirmUnit, quarantineUnit, releaseUnit) over a real SqliteStore and
 * the DER-template issuer, for callers of every role the route table admits. Each answer is a
 * typed, exposed refusal or a valid result (certificates parse, name the serial, carry the key
 * sent); a refusal writes no unit and no work order. After the run: the units stored are exactly
 * the units answered as issued, each with its audit record and outbox job, issued counts equal
 * the units per work order and stay within quota, and the audit chain verifies.
 */
import { createHash, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { ERROR_TABLE, type ErrorCode } from '../../common/errors.js';
import { parseJsonStrict } from '../../common/json-strict.js';
import {
  chipSerial, unitBatchRequest, unitConfirm, unitIssueRequest, unitQuarantine, unitRelease, workOrderCreate, workOrderId, workOrderUpdate, workOrderView,
} from '../../common/protocol/station-api.js';
import type { Actor } from '../../common/roles.js';
import { validate } from '../../server/api/middleware/body.js';
import { ROUTES, type RouteKey } from '../../server/api/route-table.js';
import { verifyAuditChain } from '../../server/audit/audit-log.js';
import type { IssueResult } from '../../server/services/provisioning.js';
import { p256FromSeed, provisioningBed, serialOf, type ProvisioningBed } from '../bed.js';
import { csrSamples, type CsrSample } from '../csr-samples.js';
import { clip, describe, ensure, expectTypedError, FuzzFinding, type FuzzTarget } from '../harness.js';
import { hostileJsonFrom, hostileValue } from '../json-text.js';

const ROUTE_OF = {
  createWorkOrder: 'POST /v1/work-orders',
  updateWorkOrder: 'PATCH /v1/work-orders/:id',
  closeWorkOrder: 'POST /v1/work-orders/:id/close',
  issueUnit: 'POST /v1/units',
  issueBatch: 'POST /v1/units:batch',
  confirmUnit: 'POST /v1/units/:serial/confirm',
  quarantineUnit: 'POST /v1/units/:serial/quarantine',
  releaseUnit: 'POST /v1/units/:serial/release',
} as const satisfies Record<string, RouteKey>;
type Op = keyof typeof ROUTE_OF;

const ACTORS: Actor[] = [
  { id: 'station-01', role: 'station' }, { id: 'station-02', role: 'station' }, { id: 'operator-01', role: 'operator' },
  { id: 'officer-01', role: 'security-officer' }, { id: 'auditor-01', role: 'auditor' },
];

/** Work orders made before the run: unlimited, nearly full, for station-02 only, closed. */
const PRESET = [
  { id: 'WO-OPEN', product: 'Sensor', quota: 100_000_000 },
  { id: 'WO-SMALL', product: 'Sensor', quota: 3 },
  { id: 'WO-S2', product: 'Gateway', quota: 100_000_000, stations: ['station-02'] },
  { id: 'WO-QUEUED', product: 'Sensor', quota: 100_000_000, preregistration: 'queued' as const },
  { id: 'WO-CLOSED', product: 'Sensor', quota: 10 },
];
const WO_IDS = [...PRESET.map((w) => w.id), ...Array.from({ length: 12 }, (_, i) => `WO-${i}`)];
const OPEN_ORDERS = ['WO-OPEN', 'WO-S2', 'WO-QUEUED'];
/** Stands for the issued certificate's fingerprint; replaced at check time when the unit exists. */
const FP = '__FINGERPRINT__';

interface Input {
  op: Op;
  actor: number;
  /** The :id or :serial path parameter. */
  param: string;
  text: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const spkiB64 = (raw: Uint8Array) => Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), Buffer.from([4]), raw]).toString('base64');

function arbitrary(csrs: readonly CsrSample[]): fc.Arbitrary<Input> {
  const woId = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...WO_IDS) }, { weight: 1, arbitrary: fc.constantFrom('', 'wo-open', 'WO OPEN', '../x', 'WO-%2F', 'x'.repeat(65)) });
  const serial = fc.nat(1500).map(serialOf);
  const key = fc.nat(4000).map((n) => p256FromSeed(n));
  const unit = fc.record({
    serial: fc.oneof({ weight: 8, arbitrary: serial }, { weight: 1, arbitrary: serial.map((s) => s.toLowerCase()) }),
    key: fc.oneof(
      { weight: 5, arbitrary: key.map((k) => ({ publicKey: hex(k) })) },
      { weight: 2, arbitrary: key.map((k) => ({ publicKey: spkiB64(k) })) },
      { weight: 1, arbitrary: fc.constantFrom(...csrs).map((c) => ({ csr: c.pem })) },
    ),
    workOrder: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...OPEN_ORDERS) }, { weight: 1, arbitrary: woId }),
    idempotencyKey: fc.option(fc.nat(40).map((n) => `k-${n}`), { freq: 3 }),
  }).map(({ key: k, idempotencyKey, ...u }) => ({ ...u, ...k, ...(idempotencyKey === null ? {} : { idempotencyKey }) }));
  const stations = fc.option(fc.subarray(['station-01', 'station-02', 'station-03']), { nil: undefined });
  const bodies: Record<Op, fc.Arbitrary<Record<string, unknown>>> = {
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
  const ops = Object.keys(ROUTE_OF) as Op[];
  const weights: Record<Op, number> = { createWorkOrder: 2, updateWorkOrder: 1, closeWorkOrder: 1, issueUnit: 8, issueBatch: 3, confirmUnit: 4, quarantineUnit: 2, releaseUnit: 1 };
  return fc.oneof(...ops.map((op) => ({
    weight: weights[op],
    arbitrary: fc.record({
      op: fc.constant(op),
      // Mostly a role the route admits, sometimes any.
      actor: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ACTORS.flatMap((a, i) => ((ROUTES[ROUTE_OF[op]] as readonly string[]).includes(a.role) ? [i] : []))) }, { weight: 1, arbitrary: fc.nat(ACTORS.length - 1) }),
      // Closing or shrinking the three open orders would end issuance for the rest of the run.
      param: op.endsWith('WorkOrder') ? fc.constantFrom(...WO_IDS.filter((w) => !OPEN_ORDERS.includes(w)), '', 'wo-small', 'WO-%2F', 'x'.repeat(65)) : fc.oneof({ weight: 8, arbitrary: serial }, { weight: 1, arbitrary: hostileValue.map((v) => String(JSON.stringify(v))) }),
      text: hostileJsonFrom(bodies[op], 12),
    }),
  })));
}

/** True when an error is a refusal the API would show the caller (not a 5xx it would hide). */
function isExposedRefusal(code: ErrorCode): boolean {
  const m = ERROR_TABLE[code];
  return m.expose && (m.http < 500 || code === 'REGISTRATION_PENDING');
}

/** What the run saw answered, for the invariants at the end. */
interface Model {
  units: Map<string, { fingerprint: string; workOrder: string }>;
  workOrders: Set<string>;
}

/** The target. */
export const stationApiTarget: FuzzTarget<Input> = {
  name: 'station-api',
  summary: 'station API bodies: parseJsonStrict → route schema → provisioning service over SQLite; typed refusals, valid certificates, store invariants and audit chain after the run',
  heapBoundBytes: 48 * 1024 * 1024,
  async setup() {
    const bed = await provisioningBed('station-api');
    const csrs = (await csrSamples()).filter((c) => c.raw);
    const model: Model = { units: new Map(), workOrders: new Set(PRESET.map((w) => w.id)) };
    for (const w of PRESET) await bed.prov.createWorkOrder(w, 'operator-01');
    await bed.prov.closeWorkOrder('WO-CLOSED', 'operator-01');
    const q = {
      unitsTop: bed.db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM units').pluck(),
      ordersTop: bed.db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM work_orders').pluck(),
      fingerprint: bed.db.prepare('SELECT fingerprint_sha256 FROM units WHERE serial = ?').pluck(),
    };
    return {
      arbitrary: arbitrary(csrs),
      async check(input) {
        const actor = ACTORS[input.actor]!;
        // The router refuses a role the table does not list before any handler runs.
        if (!(ROUTES[ROUTE_OF[input.op]] as readonly string[]).includes(actor.role)) return 'router: role refused';
        const fp = (q.fingerprint.get(String(input.param).toUpperCase()) as string | undefined) ?? '0'.repeat(64);
        const text = input.text.includes(FP) ? input.text.replaceAll(FP, fp) : input.text;
        const before = { units: q.unitsTop.get() as number, orders: q.ordersTop.get() as number };
        let answer: unknown;
        try {
          answer = await handle(bed, input.op, input.param, parseJsonStrict(text), actor);
        } catch (err) {
          expectTypedError(err, input.op);
          ensure(isExposedRefusal(err.code), () => `${input.op}: ${err.code} would be a ${ERROR_TABLE[err.code].http} (${clip(err.message, 200)})`);
          const after = { units: q.unitsTop.get() as number, orders: q.ordersTop.get() as number };
          ensure(after.units === before.units && after.orders === before.orders, () => `${input.op} refused with ${err.code} but wrote ${after.units - before.units} units, ${after.orders - before.orders} work orders`);
          return `${input.op} ${err.code}`;
        }
        return judgeAnswer(input, text, answer, model);
      },
      async afterAll() {
        await checkStore(bed, model);
      },
      close: () => bed.close(),
    };
  },
};

/** Runs one request as its route handler does (server/api/routes/*.ts). */
async function handle(bed: ProvisioningBed, op: Op, param: string, body: unknown, actor: Actor): Promise<unknown> {
  const p = bed.prov;
  switch (op) {
    case 'createWorkOrder': return p.createWorkOrder(validate(workOrderCreate, body), actor.id);
    case 'updateWorkOrder': return p.updateWorkOrder(validate(workOrderId, param), validate(workOrderUpdate, body), actor.id);
    case 'closeWorkOrder': return p.closeWorkOrder(validate(workOrderId, param), actor.id);
    case 'issueUnit': return p.issueUnit(validate(unitIssueRequest, body), actor.id);
    case 'issueBatch': {
      const { units } = validate(unitBatchRequest, body);
      // As the batch handler: each unit validated on its own, the valid ones issued together.
      const valid = units.flatMap((u) => {
        try {
          return [validate(unitIssueRequest, u)];
        } catch (err) {
          expectTypedError(err, 'batch unit', ['VALIDATION_FAILED']);
          return [];
        }
      });
      const results = valid.length ? await p.issueBatch(valid, actor.id) : [];
      ensure(results.length === valid.length, `issueBatch: ${valid.length} units, ${results.length} results`);
      return { batch: valid, results };
    }
    case 'confirmUnit': return p.confirmUnit(validate(chipSerial, param), validate(unitConfirm, body), actor);
    case 'quarantineUnit': return p.quarantineUnit(validate(chipSerial, param), validate(unitQuarantine, body).reason, actor);
    case 'releaseUnit': return p.releaseUnit(validate(chipSerial, param), validate(unitRelease, body).reason, actor);
  }
}

/** Checks one issued certificate against its request (as sent, or as the schema parsed it), and records it. */
function judgeIssued(r: IssueResult, sent: { serial: string; publicKey?: string; key?: { publicKey?: string }; workOrder: string }, model: Model): void {
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
    const sent = /^[0-9a-fA-F]{128,130}$/.test(req.publicKey.trim()) ? req.publicKey.trim().slice(-128).toLowerCase() : Buffer.from(req.publicKey, 'base64').subarray(-64).toString('hex');
    ensure(raw === sent, `certificate key ${raw.slice(0, 16)}… is not the key sent ${sent.slice(0, 16)}…`);
  }
  const known = model.units.get(r.serial);
  if (r.replayed) ensure(known?.fingerprint === r.fingerprintSha256, `replay of ${r.serial} answered a certificate the run never issued`);
  else ensure(!known, `${r.serial} issued twice`);
  model.units.set(r.serial, { fingerprint: r.fingerprintSha256, workOrder: req.workOrder });
}

function judgeAnswer(input: Input, text: string, answer: unknown, model: Model): string {
  switch (input.op) {
    case 'createWorkOrder':
    case 'updateWorkOrder':
    case 'closeWorkOrder': {
      const wo = workOrderView.parse(answer);
      ensure(wo.issued <= wo.quota && wo.remaining === wo.quota - wo.issued, () => `work order view ${JSON.stringify(wo)}`);
      if (input.op === 'createWorkOrder') {
        ensure(!model.workOrders.has(wo.id), `work order ${wo.id} created twice`);
        model.workOrders.add(wo.id);
      }
      return `${input.op} ok`;
    }
    case 'issueUnit':
      judgeIssued(answer as IssueResult, JSON.parse(text) as { serial: string; workOrder: string }, model);
      return `issueUnit ok${(answer as IssueResult).replayed ? ' (replayed)' : ''}`;
    case 'issueBatch': {
      const { batch, results } = answer as { batch: Array<{ serial: string; publicKey?: string; key?: { publicKey?: string }; workOrder: string }>; results: Array<{ ok: boolean; value?: IssueResult; error?: unknown }> };
      results.forEach((r, i) => {
        if (r.ok) judgeIssued(r.value!, batch[i]!, model);
        else {
          expectTypedError(r.error, 'issueBatch result');
          ensure(isExposedRefusal(r.error.code), `batch unit refused with ${r.error.code}`);
        }
      });
      return `issueBatch ok: ${results.filter((r) => r.ok).length}/${results.length} issued`.replace(/\d+\/\d+/, (m) => (m.startsWith('0/') ? 'none' : 'some'));
    }
    default: {
      const u = answer as { serial: string; status: string };
      const want = { confirmUnit: ['confirmed'], quarantineUnit: ['quarantined'], releaseUnit: ['issued', 'confirmed'] }[input.op];
      ensure(want.includes(u.status), () => `${input.op} answered status ${u.status}`);
      ensure(model.units.has(u.serial), `${input.op} answered for ${u.serial}, a unit the run never issued`);
      return `${input.op} ok`;
    }
  }
}

/** The store invariants, read through a second connection, and the audit chain. */
async function checkStore(bed: ProvisioningBed, model: Model): Promise<void> {
  const db = bed.db;
  const units = db.prepare('SELECT serial, fingerprint_sha256 AS fp, work_order AS wo, status FROM units').all() as Array<{ serial: string; fp: string; wo: string; status: string }>;
  ensure(units.length === model.units.size, `${units.length} units stored, ${model.units.size} answered as issued`);
  for (const u of units) {
    const m = model.units.get(u.serial);
    ensure(m && m.fingerprint === u.fp && m.workOrder === u.wo, `stored unit ${u.serial} is not the one answered`);
  }
  const missingAudit = db.prepare(`SELECT count(*) FROM units u WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject = u.serial AND a.action = 'unit.issued')`).pluck().get() as number;
  ensure(missingAudit === 0, `${missingAudit} units without their unit.issued audit record`);
  const missingStatusAudit = db.prepare(`SELECT count(*) FROM units u WHERE u.status IN ('confirmed', 'quarantined') AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject = u.serial AND a.action = 'unit.' || u.status)`).pluck().get() as number;
  ensure(missingStatusAudit === 0, `${missingStatusAudit} confirmed/quarantined units without the audit record of that change`);
  const missingJob = db.prepare(`SELECT count(*) FROM units u WHERE NOT EXISTS (SELECT 1 FROM outbox_jobs j WHERE j.serial = u.serial AND j.action = 'register')`).pluck().get() as number;
  ensure(missingJob === 0, `${missingJob} units without their preregistration job`);
  const orders = db.prepare('SELECT w.id, w.quota, w.issued, (SELECT count(*) FROM units u WHERE u.work_order = w.id) AS n FROM work_orders w').all() as Array<{ id: string; quota: number; issued: number; n: number }>;
  ensure(orders.length === model.workOrders.size && orders.every((o) => model.workOrders.has(o.id)), `work orders stored ${orders.map((o) => o.id).join(',')} are not the ones answered`);
  for (const o of orders) ensure(o.issued === o.n && o.issued <= o.quota, `work order ${o.id}: issued ${o.issued}, units ${o.n}, quota ${o.quota}`);
  const chain = await verifyAuditChain(bed.store);
  ensure(chain.ok, () => `audit chain broken: ${JSON.stringify(chain)}`);
}
