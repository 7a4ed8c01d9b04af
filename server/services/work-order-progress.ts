/**
 * One work order's progress for the console (issue 18): quota vs issued vs confirmed vs ready to
 * ship, per station and status, and its shipment gate. "Ready to ship" is a confirmed unit that
 * reconcile finds nothing against (every registry has it, or covers it awaiting first connection,
 * and no job of it is parked).
 */
import type { WorkOrderView } from '../../common/protocol/station-api.js';
import type { Store, UnitStatusCount } from '../store/store.js';
import { reconcileProblems, type ReconcileReport } from './reconcile.js';
import { workOrderView } from './views.js';
import { workOrderOf } from './work-orders.js';

/** What the work-order page shows. */
export interface WorkOrderDetail {
  workOrder: WorkOrderView;
  byStation: UnitStatusCount[];
  totals: Record<'issued' | 'confirmed' | 'quarantined' | 'revoked', number>;
  shippedReady: number;
  gate: { go: boolean; problems: number; report: ReconcileReport };
}

/** Builds the query over the store. */
export function createWorkOrderProgress({ store }: { store: Store }) {
  /** The work order's progress; UNKNOWN_WORK_ORDER when absent. */
  return async function workOrderProgress(id: string): Promise<WorkOrderDetail> {
    return store.transaction(async (tx) => {
      const wo = await workOrderOf(tx, id);
      const byStation = await tx.units.countByStatus(id);
      const totals = { issued: 0, confirmed: 0, quarantined: 0, revoked: 0 };
      for (const c of byStation) totals[c.status] += c.count;
      const report: ReconcileReport = {
        unregistered: await tx.outbox.unregistered(id),
        orphanRegistrations: [],
        parked: await tx.outbox.parked(id),
        awaitingConnection: (await tx.outbox.awaiting(id)).map((j) => ({ serial: j.serial, registry: j.registry, externalId: j.externalId, since: j.createdAt })),
      };
      // Confirmed units reconcile holds something against are not ready (looked up one by one: few).
      const held = [...new Set([...report.unregistered.map((u) => u.serial), ...report.parked.map((j) => j.serial)])];
      let heldConfirmed = 0;
      for (const serial of held.slice(0, 1000)) if ((await tx.units.getBySerial(serial))?.status === 'confirmed') heldConfirmed++;
      const problems = reconcileProblems(report);
      return { workOrder: workOrderView(wo), byStation, totals, shippedReady: Math.max(0, totals.confirmed - heldConfirmed), gate: { go: problems === 0, problems, report } };
    }, { readOnly: true });
  };
}

/** The query. */
export type WorkOrderProgress = ReturnType<typeof createWorkOrderProgress>;
