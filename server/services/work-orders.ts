/**
 * Work orders: what a line may produce (product, quota, the stations allowed, the registries each
 * unit must reach). Operators create, change and close them (the route table says who may call);
 * a station reads only the orders it is allowed on. Every change is audited in its transaction.
 */
import { KeylineError, ValidationError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { WorkOrderCreate, WorkOrderUpdate, WorkOrderView } from '../../common/protocol/station-api.js';
import type { Actor } from '../../common/roles.js';
import type { Store, Tx, WorkOrderRecord } from '../store/store.js';
import { SELF_REGISTRY } from '../registry/self-registry.js';
import { assertStationOnWorkOrder } from './policies.js';
import { workOrderView } from './views.js';

/** What the work-order functions need. */
export interface WorkOrderDeps {
  store: Store;
  now: () => Date;
  log: Logger;
  /** Registries work orders may name (the server's configured ones). */
  registryNames: readonly string[];
  /** How many SE050 manufacturer roots key-origin evidence can be checked against. */
  manufacturerRoots?: number;
}

/** Reads a work order inside `tx`; UNKNOWN_WORK_ORDER when absent. */
export async function workOrderOf(tx: Tx, id: string): Promise<WorkOrderRecord> {
  const wo = await tx.workOrders.get(id);
  if (!wo) throw new KeylineError('UNKNOWN_WORK_ORDER', `workOrder: '${id}' does not exist`, { detail: { workOrder: id } });
  return wo;
}

/**
 * A work order that requires key-origin evidence must be able to get it: an ATECC608 carries no
 * manufacturer attestation key, and SE050 evidence needs a manufacturer root to be checked against.
 */
function checkAttestable(chip: string, roots: number): void {
  const why = chip === 'atecc608' ? 'an ATECC608 carries no manufacturer attestation key, so no unit could ever be issued'
    : roots === 0 ? 'no SE050 manufacturer root is configured (ca.manufacturerRoots), so no evidence could be verified' : null;
  if (why) throw new ValidationError('VALIDATION_FAILED', `requireAttestation: ${why}`, { detail: { field: 'requireAttestation', chip } });
}

/** Builds the work-order functions of the provisioning service. */
export function createWorkOrders(d: WorkOrderDeps) {
  const { store, now, log } = d;
  return {
    /** Creates a work order (fields checked by the `workOrderCreate` schema); WORK_ORDER_EXISTS on a duplicate id, UNKNOWN_REGISTRY. */
    async createWorkOrder(wo: WorkOrderCreate, actor: string): Promise<WorkOrderView> {
      const registries = wo.registries ?? [SELF_REGISTRY];
      const preregistration = wo.preregistration ?? 'confirmed';
      const unknown = registries.find((r) => !d.registryNames.includes(r));
      if (unknown !== undefined) {
        throw new KeylineError('UNKNOWN_REGISTRY', `registries: '${unknown}' is not configured on this server (configured: ${d.registryNames.join(', ')})`,
          { detail: { field: 'registries', registry: unknown } });
      }
      const chip = wo.chip ?? 'atecc608';
      const requireAttestation = wo.requireAttestation ?? false;
      if (requireAttestation) checkAttestable(chip, d.manufacturerRoots ?? 0);
      const created = await store.transaction(async (tx) => {
        const rec = await tx.workOrders.create({ id: wo.id, product: wo.product, quota: wo.quota, stations: wo.stations ?? null, createdAt: now().toISOString(), registries, preregistration, chip, requireAttestation });
        await tx.audit.append({ action: 'work_order.created', actor, subject: wo.id, detail: { product: wo.product, quota: wo.quota, stations: wo.stations ?? null, registries, preregistration, chip, requireAttestation } });
        return rec;
      });
      log.info({ workOrder: wo.id, quota: wo.quota, registries, preregistration, chip, requireAttestation, actor }, 'work order created');
      return workOrderView(created);
    },

    /** A work order with issued vs quota; UNKNOWN_WORK_ORDER when absent, STATION_NOT_ALLOWED for a station it does not name. */
    async getWorkOrder(id: string, actor: Actor): Promise<WorkOrderView> {
      const wo = await store.transaction((tx) => workOrderOf(tx, id), { readOnly: true });
      assertStationOnWorkOrder(actor, wo);
      return workOrderView(wo);
    },

    /** Every work order, newest first. */
    async listWorkOrders(): Promise<WorkOrderView[]> {
      return (await store.transaction((tx) => tx.workOrders.list(), { readOnly: true })).map(workOrderView);
    },

    /**
     * Changes the quota and/or the stations allowed. A quota below what was already issued is
     * refused (QUOTA_BELOW_ISSUED): certificates that exist cannot be un-issued.
     */
    async updateWorkOrder(id: string, patch: WorkOrderUpdate, actor: string): Promise<WorkOrderView> {
      const updated = await store.transaction(async (tx) => {
        const cur = await workOrderOf(tx, id);
        if (patch.quota !== undefined && patch.quota < cur.issued) {
          throw new KeylineError('QUOTA_BELOW_ISSUED', `quota: ${patch.quota} is below the ${cur.issued} certificates already issued on '${id}'`, { detail: { workOrder: id, issued: cur.issued } });
        }
        await tx.workOrders.update(id, patch);
        const from = { ...(patch.quota !== undefined ? { quota: cur.quota } : {}), ...(patch.stations !== undefined ? { stations: cur.stations } : {}) };
        await tx.audit.append({ action: 'work_order.updated', actor, subject: id, detail: { from, to: patch } });
        return { ...cur, ...patch };
      });
      log.info({ workOrder: id, ...patch, actor }, 'work order updated');
      return workOrderView(updated);
    },

    /** Closes a work order: it issues nothing more (idempotent). */
    async closeWorkOrder(id: string, actor: string): Promise<WorkOrderView> {
      const wo = await store.transaction(async (tx) => {
        const cur = await workOrderOf(tx, id);
        if (cur.status === 'closed') return cur;
        await tx.workOrders.setStatus(id, 'closed');
        await tx.audit.append({ action: 'work_order.closed', actor, subject: id, detail: { issued: cur.issued, quota: cur.quota } });
        return { ...cur, status: 'closed' as const };
      });
      return workOrderView(wo);
    },
  };
}
