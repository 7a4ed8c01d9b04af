/**
 * The shipment gate's question, asked of the store: which units are logged but not
 * preregistered, which registrations name no unit, which jobs are parked; units covered by a
 * CA-level registration and awaiting their first connection are listed apart (expected before
 * shipping, never a failure). `keyline reconcile` and GET /v1/reconcile both answer with it.
 */
import type { OutboxJobRecord, RegistrationRecord, Store } from '../store/store.js';

/** What reconcile found. */
export interface ReconcileReport {
  unregistered: Array<{ serial: string; registry: string }>;
  orphanRegistrations: RegistrationRecord[];
  parked: OutboxJobRecord[];
  /** Informational: covered by a CA-level registration, awaiting the device's first connection. */
  awaitingConnection: Array<{ serial: string; registry: string; externalId: string | null; since: string }>;
}

/** What reconcile reads from. */
export interface ReconcileDeps {
  store: Store;
}

/** Reads the report in one read-only transaction; `workOrder` narrows the unit lists. */
export type Reconcile = (workOrder?: string) => Promise<ReconcileReport>;

/** Creates the reconcile query over the deps' store. */
export function createReconcile({ store }: ReconcileDeps): Reconcile {
  return (workOrder) => store.transaction(async (tx) => ({
    unregistered: await tx.outbox.unregistered(workOrder),
    orphanRegistrations: await tx.outbox.orphanRegistrations(),
    parked: await tx.outbox.parked(workOrder),
    awaitingConnection: (await tx.outbox.awaiting(workOrder))
      .map((j) => ({ serial: j.serial, registry: j.registry, externalId: j.externalId, since: j.createdAt })),
  }), { readOnly: true });
}

/** How many findings fail the gate (awaiting connections do not). */
export function reconcileProblems(r: ReconcileReport): number {
  return r.unregistered.length + r.orphanRegistrations.length + r.parked.length;
}
