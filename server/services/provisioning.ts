/**
 * The provisioning service: work orders (work-orders.ts), unit issuance (issue-units.ts) and a
 * unit's life after it (unit-lifecycle.ts), behind one object. Plain typed data in and out, the
 * actor being the authenticated caller; it knows nothing of HTTP (api/ calls it) and no SQL
 * (store/ does that).
 */
import { KeylineError, ValidationError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import type { UnitIssueRequest } from '../../common/protocol/station-api.js';
import type { DeviceIssuer } from '../ca/device-issuer.js';
import type { StationRecord, StationRole, Store, Tx } from '../store/store.js';
import type { IssueResult, UnitOutcome } from './issuance.js';
import { createIssuePipeline } from './issue-units.js';
import { createReissue, createReissueSteps, type ReissueRequest, type ReissueResult, type SignedReissue } from './reissue-unit.js';
import type { IssueRequest } from './policies.js';
import { parseCsr, parsePublicKey } from './public-key.js';
import { createOutboxWorker } from '../registry/outbox-worker.js';
import { createSelfRegistry, SELF_REGISTRY } from '../registry/self-registry.js';
import { createRegistrationGate } from './registration-gate.js';
import { createUnitLifecycle } from './unit-lifecycle.js';
import { createKeyOriginVerifier } from './key-origin.js';
import { createWorkOrders } from './work-orders.js';

export type { IssueResult, UnitOutcome } from './issuance.js';
export type { UnitDetail } from './unit-lifecycle.js';
export type { ReissueRequest, ReissueResult, SignedReissue } from './reissue-unit.js';

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
  /** SE050 manufacturer roots (DER) that key-origin evidence must chain to (config ca.manufacturerRoots); default none. */
  manufacturerRoots?: readonly Uint8Array[];
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
  const reissue = createReissue({ store, issuer: deps.issuer, now, log });
  const reissueSteps = createReissueSteps({ store, issuer: deps.issuer, now, log });
  const gate = createRegistrationGate({
    store,
    outbox: deps.outbox ?? createOutboxWorker({ store, registries: [createSelfRegistry({ store, now })], now, log }),
    waitMs: deps.confirmWaitMs ?? 10_000,
  });

  const keyOrigin = createKeyOriginVerifier({ roots: deps.manufacturerRoots ?? [], now });

  // The schema checked the fields; what is left is the key material itself (curve, point, CSR
  // signature) and what the key-origin evidence proves about it (key-origin.ts).
  async function withKey(req: UnitIssueRequest): Promise<IssueRequest> {
    const publicKey = 'publicKey' in req.key ? parsePublicKey(req.key.publicKey) : (await parseCsr(req.key.csr)).publicKey;
    const r: IssueRequest = { serial: req.serial, publicKey, workOrder: req.workOrder, idempotencyKey: req.idempotencyKey };
    return req.attestation ? { ...r, keyOrigin: keyOrigin(r, req.attestation) } : r;
  }

  return {
    ...createWorkOrders({ store, now, log, registryNames: deps.registryNames ?? [SELF_REGISTRY], manufacturerRoots: deps.manufacturerRoots?.length ?? 0 }),
    ...createUnitLifecycle({ store, now, gate }),

    /** Issues one unit's certificate (see issue-units.ts); throws the unit's refusal. */
    async issueUnit(req: UnitIssueRequest, station: string): Promise<IssueResult> {
      const [outcome] = await issueUnits([await withKey(req)], station);
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.value;
    },

    /**
     * Re-certifies a unit in service (EST simplereenroll, see reissue-unit.ts): a new certificate
     * in place of the one presented, the old one superseded; throws the refusal.
     */
    async reissueUnit(req: Omit<ReissueRequest, 'publicKey'> & { csr: string }, actor: string): Promise<ReissueResult> {
      // Proof of possession of the new key: the CSR's signature, checked as for issuance.
      const { csr, ...rest } = req;
      return reissue({ ...rest, publicKey: (await parseCsr(csr)).publicKey }, actor);
    },

    /**
     * The first half of reissueUnit, for a certificate that stays pending until the device
     * claims it (AWS Fleet Provisioning: CreateCertificateFromCsr, then RegisterThing): the same
     * rules and signature, nothing recorded. Returns the new key with the signed certificate, or
     * the current certificate when the rules make this a retry.
     */
    async signPendingReissue(req: Omit<ReissueRequest, 'publicKey'> & { csr: string }, actor: string): Promise<SignedReissue & { publicKey: Uint8Array }> {
      const { csr, ...rest } = req;
      const publicKey = (await parseCsr(csr)).publicKey;
      return { ...(await reissueSteps.sign({ ...rest, publicKey }, actor)), publicKey };
    },

    /**
     * The second half: records a certificate signPendingReissue signed, re-applying the rules
     * under the write lock, as reissueUnit records; `within` runs first in the same transaction.
     */
    async activatePendingReissue(req: ReissueRequest, cert: { der: Uint8Array; serialHex: string; fingerprintSha256: string }, actor: string, within?: (tx: Tx) => Promise<void>): Promise<ReissueResult> {
      return reissueSteps.activate(req, cert, actor, within);
    },

    /** Issues up to 100 units in one write transaction; one outcome per input, in order. */
    async issueBatch(reqs: UnitIssueRequest[], station: string): Promise<UnitOutcome[]> {
      if (reqs.length > MAX_BATCH) throw new ValidationError('VALIDATION_FAILED', `units: at most ${MAX_BATCH} per batch, got ${reqs.length}`);
      const parsed = await Promise.all(reqs.map((r) => withKey(r).then((req) => ({ req }), (err: unknown) => ({ err }))));
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
