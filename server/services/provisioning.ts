/**
 * The provisioning service: work orders, unit issuance, confirmation and quarantine. Plain typed
 * data in and out, the actor being the authenticated station id; it knows nothing of HTTP
 * (api/ calls it) and no SQL (store/ does that).
 */
import { KeylineError, ValidationError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { workOrderCreate, type UnitConfirmed, type UnitView, type WorkOrderCreate, type WorkOrderView } from '../../common/protocol/station-api.js';
import type { DeviceIssuer } from '../ca/device-issuer.js';
import { UNIT_STATUSES, type StationRecord, type StationRole, type Store, type UnitStatus } from '../store/store.js';
import { createIssuePipeline, type IssueResult, type UnitOutcome } from './issue-units.js';
import type { IssueRequest } from './policies.js';
import { parseCsr, parsePublicKey } from './public-key.js';
import { unitView, workOrderView } from './views.js';
import { createOutboxWorker } from '../registry/outbox-worker.js';
import { createSelfRegistry, SELF_REGISTRY } from '../registry/self-registry.js';
import { createRegistrationGate } from './registration-gate.js';

export type { IssueResult, UnitOutcome } from './issue-units.js';

/** One unit to issue, as a station sends it: exactly one of publicKey (hex or SPKI base64) or csr. */
export interface IssueUnitInput {
  serial: string;
  publicKey?: string;
  csr?: string;
  workOrder: string;
  idempotencyKey?: string;
}

/** A unit's view with its status reason. */
export type UnitDetail = UnitView & { statusReason: string | null };

/** The most units one batch may carry. */
export const MAX_BATCH = 100;

/** What the service needs. */
export interface ProvisioningDeps {
  store: Store;
  issuer: DeviceIssuer;
  clock?: () => Date;
  log?: Logger;
  /** Registries work orders may name (the server's configured ones); default ['self']. */
  registryNames?: string[];
  /** Delivers one unit's jobs now, for confirm gating; default: a worker for the self registry only. */
  outbox?: { deliverUnit(serial: string): Promise<unknown> };
  /** How long confirm waits for a 'confirmed' work order's registrations (ms); default 10 s. */
  confirmWaitMs?: number;
}

/** The provisioning service's functions. */
export type Provisioning = ReturnType<typeof createProvisioning>;

/** Builds the provisioning service over a store and a device-certificate issuer. */
export function createProvisioning(deps: ProvisioningDeps) {
  const now = deps.clock ?? (() => new Date());
  const log = deps.log ?? silentLogger;
  const { store } = deps;
  const knownStations = new Map<string, StationRecord>();
  const issueUnits = createIssuePipeline({ store, issuer: deps.issuer, now, log });
  const registryNames = deps.registryNames ?? [SELF_REGISTRY];
  const gate = createRegistrationGate({
    store,
    outbox: deps.outbox ?? createOutboxWorker({ store, registries: [createSelfRegistry({ store, now })], now, log }),
    waitMs: deps.confirmWaitMs ?? 10_000,
  });

  async function parseRequest(input: IssueUnitInput): Promise<IssueRequest> {
    if ((input.publicKey === undefined) === (input.csr === undefined)) {
      throw new ValidationError('VALIDATION_FAILED', 'publicKey/csr: give exactly one of them');
    }
    if (typeof input.serial !== 'string' || !/^[0-9A-Fa-f]{18}$/.test(input.serial)) {
      throw new ValidationError('INVALID_SERIAL', `serial: expected 18 hex digits, got '${String(input.serial)}'`);
    }
    const publicKey = input.publicKey !== undefined ? parsePublicKey(input.publicKey) : (await parseCsr(input.csr!)).publicKey;
    return { serial: input.serial.toUpperCase(), publicKey, workOrder: input.workOrder, idempotencyKey: input.idempotencyKey ?? null };
  }

  async function getUnitRecord(serial: string) {
    const u = await store.transaction((tx) => tx.units.getBySerial(serial.toUpperCase()), { readOnly: true });
    if (!u) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial}`, { detail: { serial } });
    return u;
  }

  /** Moves a unit to `status`, auditing it; `allowedFrom` lists the states it may leave. */
  async function transition(serial: string, status: UnitStatus, allowedFrom: UnitStatus[], station: string, extra: { reason?: string; fingerprintSha256?: string }) {
    const key = serial.toUpperCase();
    return store.transaction(async (tx) => {
      const u = await tx.units.getBySerial(key);
      if (!u) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial}`, { detail: { serial } });
      if (extra.fingerprintSha256 !== undefined && extra.fingerprintSha256.toLowerCase() !== u.fingerprintSha256) {
        throw new ValidationError('VALIDATION_FAILED', `fingerprintSha256: does not match the certificate issued to ${key}`, { detail: { serial: key } });
      }
      if (u.status === status) return unitView(u); // idempotent: a repeated confirm/quarantine changes nothing
      if (!allowedFrom.includes(u.status)) {
        throw new ValidationError('VALIDATION_FAILED', `status: unit ${key} is ${u.status}, cannot become ${status}`, { detail: { serial: key, status: u.status } });
      }
      const at = now().toISOString();
      await tx.units.setStatus(key, status, { at, ...(extra.reason ? { reason: extra.reason } : {}), ...(status === 'confirmed' ? { confirmedAt: at } : {}) });
      await tx.audit.append({ action: `unit.${status}`, actor: station, subject: key, detail: { from: u.status, ...(extra.reason ? { reason: extra.reason } : {}) } });
      return unitView({ ...u, status, updatedAt: at, statusReason: extra.reason ?? u.statusReason, confirmedAt: status === 'confirmed' ? at : u.confirmedAt });
    });
  }

  return {
    /** Creates a work order; WORK_ORDER_EXISTS on a duplicate id, VALIDATION_FAILED on bad fields. */
    async createWorkOrder(input: WorkOrderCreate, actor: string): Promise<WorkOrderView> {
      const parsed = workOrderCreate.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ValidationError('VALIDATION_FAILED', `${issue.path.join('.') || 'workOrder'}: ${issue.message}`, { detail: { field: issue.path.join('.') } });
      }
      const wo = parsed.data;
      const registries = wo.registries ?? [SELF_REGISTRY];
      const preregistration = wo.preregistration ?? 'confirmed';
      const unknown = registries.find((r) => !registryNames.includes(r));
      if (unknown !== undefined) {
        throw new KeylineError('UNKNOWN_REGISTRY', `registries: '${unknown}' is not configured on this server (configured: ${registryNames.join(', ')})`,
          { detail: { field: 'registries', registry: unknown } });
      }
      const created = await store.transaction(async (tx) => {
        const rec = await tx.workOrders.create({ id: wo.id, product: wo.product, quota: wo.quota, stations: wo.stations ?? null, createdAt: now().toISOString(), registries, preregistration });
        await tx.audit.append({ action: 'work_order.created', actor, subject: wo.id, detail: { product: wo.product, quota: wo.quota, stations: wo.stations ?? null, registries, preregistration } });
        return rec;
      });
      log.info({ workOrder: wo.id, quota: wo.quota, registries, preregistration, actor }, 'work order created');
      return workOrderView(created);
    },

    /** A work order with issued vs quota; UNKNOWN_WORK_ORDER when absent. */
    async getWorkOrder(id: string): Promise<WorkOrderView> {
      const wo = await store.transaction((tx) => tx.workOrders.get(id), { readOnly: true });
      if (!wo) throw new KeylineError('UNKNOWN_WORK_ORDER', `workOrder: '${id}' does not exist`, { detail: { workOrder: id } });
      return workOrderView(wo);
    },

    /** Closes a work order: it issues nothing more (idempotent). */
    async closeWorkOrder(id: string, actor: string): Promise<WorkOrderView> {
      const wo = await store.transaction(async (tx) => {
        const cur = await tx.workOrders.get(id);
        if (!cur) throw new KeylineError('UNKNOWN_WORK_ORDER', `workOrder: '${id}' does not exist`, { detail: { workOrder: id } });
        if (cur.status === 'closed') return cur;
        await tx.workOrders.setStatus(id, 'closed');
        await tx.audit.append({ action: 'work_order.closed', actor, subject: id, detail: { issued: cur.issued, quota: cur.quota } });
        return { ...cur, status: 'closed' as const };
      });
      return workOrderView(wo);
    },

    /** Issues one unit's certificate (see issue-units.ts); throws the unit's refusal. */
    async issueUnit(input: IssueUnitInput, station: string): Promise<IssueResult> {
      const [outcome] = await issueUnits([await parseRequest(input)], station);
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.value;
    },

    /** Issues up to 100 units in one write transaction; one outcome per input, in order. */
    async issueBatch(inputs: IssueUnitInput[], station: string): Promise<UnitOutcome[]> {
      if (inputs.length > MAX_BATCH) throw new ValidationError('VALIDATION_FAILED', `units: at most ${MAX_BATCH} per batch, got ${inputs.length}`);
      const parsed = await Promise.all(inputs.map((i) => parseRequest(i).then((req) => ({ req }), (err: unknown) => ({ err }))));
      const valid = parsed.flatMap((p) => ('req' in p ? [p.req] : []));
      const issued = valid.length ? await issueUnits(valid, station) : [];
      let next = 0;
      return parsed.map((p): UnitOutcome => {
        if ('req' in p) return issued[next++]!;
        const error = p.err instanceof KeylineError ? p.err : new KeylineError('INTERNAL', 'request parsing failed', { cause: p.err });
        return { ok: false, error };
      });
    },

    /**
     * The station confirms it wrote and verified the certificate: issued → confirmed (idempotent),
     * then the registration gate (registration-gate.ts): complete, or REGISTRATION_PENDING /
     * REGISTRY_REJECTED, which a repeated confirm settles.
     */
    async confirmUnit(serial: string, body: { fingerprintSha256: string }, station: string): Promise<UnitDetail & Pick<UnitConfirmed, 'registrations' | 'complete'>> {
      const unit = await transition(serial, 'confirmed', ['issued'], station, { fingerprintSha256: body.fingerprintSha256 });
      return { ...unit, ...(await gate(unit.serial)) };
    },

    /** Sets a unit aside (failed verification, suspected clone); idempotent. */
    quarantineUnit(serial: string, reason: string, station: string): Promise<UnitDetail> {
      if (!reason) throw new ValidationError('VALIDATION_FAILED', 'reason: must not be empty');
      return transition(serial, 'quarantined', ['issued', 'confirmed'], station, { reason });
    },

    /** One unit with its certificate; UNKNOWN_UNIT when absent. */
    async getUnit(serial: string): Promise<UnitDetail> {
      return unitView(await getUnitRecord(serial), true);
    },

    /** A page of units, filtered by work order and status, ordered by serial. */
    async listUnits(q: { workOrder?: string; status?: UnitStatus; cursor?: string; limit?: number } = {}): Promise<{ units: UnitDetail[]; nextCursor: string | null }> {
      if (q.status !== undefined && !UNIT_STATUSES.includes(q.status)) throw new ValidationError('VALIDATION_FAILED', `status: expected one of ${UNIT_STATUSES.join(', ')}, got '${q.status}'`);
      const page = await store.transaction((tx) => tx.units.list(q), { readOnly: true });
      return { units: page.units.map((u) => unitView(u)), nextCursor: page.nextCursor };
    },

    /**
     * Records an authenticated client on its first call (and when its certificate or role
     * changes), with an audit record; later calls are answered from memory without a write.
     */
    async registerStation(id: string, fingerprint: string, role: StationRole = 'station'): Promise<StationRecord> {
      const cached = knownStations.get(id);
      if (cached && cached.fingerprint === fingerprint && cached.role === role) return cached;
      const rec = await store.transaction(async (tx) => {
        const cur = await tx.stations.get(id);
        if (cur && cur.fingerprint === fingerprint && cur.role === role) return cur;
        const next = await tx.stations.upsert({ id, fingerprint, role, createdAt: now().toISOString() });
        await tx.audit.append({ action: cur ? 'station.updated' : 'station.registered', actor: id, subject: id, detail: { fingerprint, role } });
        return next;
      });
      knownStations.set(id, rec);
      return rec;
    },
  };
}
