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
import fc from 'fast-check';
import { ERROR_TABLE } from '../../common/errors.js';
import { parseJsonStrict } from '../../common/json-strict.js';
import {
  chipSerial, unitBatchRequest, unitConfirm, unitIssueRequest, unitQuarantine, unitRelease, workOrderCreate, workOrderId, workOrderUpdate, workOrderView,
} from '../../common/protocol/station-api.js';
import type { Actor } from '../../common/roles.js';
import { validate } from '../../server/api/middleware/body.js';
import { ROUTES, type RouteKey } from '../../server/api/route-table.js';
import type { IssueResult } from '../../server/services/provisioning.js';
import { provisioningBed, type ProvisioningBed } from '../bed.js';
import { csrSamples, type CsrSample } from '../csr-samples.js';
import { clip, ensure, expectTypedError, type FuzzTarget } from '../harness.js';
import { hostileJsonFrom, hostileValue } from '../json-text.js';
import {
  ACTORS, checkStore, FP, isExposedRefusal, judgeIssued, MUTABLE_ORDER, presetStation, unitSerial, validBodies, writeMarks, type BodyOp, type Model,
} from '../station-model.js';

const ROUTE_OF = {
  createWorkOrder: 'POST /v1/work-orders',
  updateWorkOrder: 'PATCH /v1/work-orders/:id',
  closeWorkOrder: 'POST /v1/work-orders/:id/close',
  issueUnit: 'POST /v1/units',
  issueBatch: 'POST /v1/units:batch',
  confirmUnit: 'POST /v1/units/:serial/confirm',
  quarantineUnit: 'POST /v1/units/:serial/quarantine',
  releaseUnit: 'POST /v1/units/:serial/release',
} as const satisfies Record<BodyOp, RouteKey>;
type Op = BodyOp;

interface Input {
  op: Op;
  actor: number;
  /** The :id or :serial path parameter. */
  param: string;
  text: string;
}

const WEIGHTS: Record<Op, number> = { createWorkOrder: 2, updateWorkOrder: 1, closeWorkOrder: 1, issueUnit: 8, issueBatch: 3, confirmUnit: 4, quarantineUnit: 2, releaseUnit: 1 };

function arbitrary(csrs: readonly CsrSample[]): fc.Arbitrary<Input> {
  const bodies = validBodies(csrs);
  return fc.oneof(...(Object.keys(ROUTE_OF) as Op[]).map((op) => ({
    weight: WEIGHTS[op],
    arbitrary: fc.record({
      op: fc.constant(op),
      // Mostly a role the route admits, sometimes any.
      actor: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ACTORS.flatMap((a, i) => ((ROUTES[ROUTE_OF[op]] as readonly string[]).includes(a.role) ? [i] : []))) }, { weight: 1, arbitrary: fc.nat(ACTORS.length - 1) }),
      param: op.endsWith('WorkOrder') ? MUTABLE_ORDER : fc.oneof({ weight: 8, arbitrary: unitSerial }, { weight: 1, arbitrary: hostileValue.map((v) => String(JSON.stringify(v))) }),
      text: hostileJsonFrom(bodies[op], 12),
    }),
  })));
}

/** The target. */
export const stationApiTarget: FuzzTarget<Input> = {
  name: 'station-api',
  summary: 'station API bodies: parseJsonStrict → route schema → provisioning service over SQLite; typed refusals, valid certificates, store invariants and audit chain after the run',
  heapBoundBytes: 48 * 1024 * 1024,
  async setup() {
    const bed = await provisioningBed('station-api');
    const csrs = (await csrSamples()).filter((c) => c.raw);
    const model = await presetStation(bed);
    const marks = writeMarks(bed);
    const fingerprint = bed.db.prepare('SELECT fingerprint_sha256 FROM units WHERE serial = ?').pluck();
    return {
      arbitrary: arbitrary(csrs),
      async check(input) {
        const actor = ACTORS[input.actor]!;
        // The router refuses a role the table does not list before any handler runs.
        if (!(ROUTES[ROUTE_OF[input.op]] as readonly string[]).includes(actor.role)) return 'router: role refused';
        const fp = (fingerprint.get(String(input.param).toUpperCase()) as string | undefined) ?? '0'.repeat(64);
        const text = input.text.includes(FP) ? input.text.replaceAll(FP, fp) : input.text;
        const before = marks();
        let answer: unknown;
        try {
          answer = await handle(bed, input.op, input.param, parseJsonStrict(text), actor);
        } catch (err) {
          expectTypedError(err, input.op);
          ensure(isExposedRefusal(err.code), () => `${input.op}: ${err.code} would be a ${ERROR_TABLE[err.code].http} (${clip(err.message, 200)})`);
          const after = marks();
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
