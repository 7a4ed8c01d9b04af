/**
 * The provisioning service: work orders (work-orders.ts), unit issuance (issue-units.ts) and a
 * unit's life after it (unit-lifecycle.ts), behind one object. Plain typed data in and out, the
 * actor being the authenticated caller; it knows nothing of HTTP (api/ calls it) and no SQL
 * (store/ does that).
 */
import { KeylineError, ValidationError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import type { DeviceIssuer } from '../ca/device-issuer.js';
import type { StationRecord, StationRole, Store } from '../store/store.js';
import { createIssuePipeline, type IssueResult, type UnitOutcome } from './issue-units.js';
import type { IssueRequest } from './policies.js';
import { parseCsr, parsePublicKey } from './public-key.js';
import { createOutboxWorker } from '../registry/outbox-worker.js';
import { createSelfRegistry, SELF_REGISTRY } from '../registry/self-registry.js';
import { createRegistrationGate } from './registration-gate.js';
import { createUnitLifecycle } from './unit-lifecycle.js';
import { createWorkOrders } from './work-orders.js';

export type { IssueResult, UnitOutcome } from './issue-units.js';
export type { UnitDetail } from './unit-lifecycle.js';

/** One unit to issue, as a station sends it: exactly one of publicKey (hex or SPKI base64) or csr. */
export interface IssueUnitInput {
  serial: string;
  publicKey?: string;
  csr?: string;
  workOrder: string;
  idempotencyKey?: string;
}

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

  return {
    ...createWorkOrders({ store, now, log, registryNames: deps.registryNames ?? [SELF_REGISTRY] }),
    ...createUnitLifecycle({ store, now, gate }),

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
