/**
 * Confirm gating (issue 6): a unit is reported complete to the station only when its
 * registrations are confirmed, or, where its work order says 'queued', durably queued. For a
 * 'confirmed' order the gate delivers the unit's jobs at once (the outbox's deliverUnit) and
 * waits up to `waitMs` for every registry to hold the unit or to cover it by a CA-level mode
 * (awaiting its first connection); past that the station gets a retryable REGISTRATION_PENDING,
 * and a parked job a REGISTRY_REJECTED carrying the registry's reason.
 */
import { KeylineError, RegistryError } from '../../common/errors.js';
import type { RegistrationState } from '../../common/protocol/station-api.js';
import type { OutboxJobRecord, RegistrationRecord, Store } from '../store/store.js';

/** What the gate needs. */
export interface RegistrationGateDeps {
  store: Store;
  /** Delivers one unit's due jobs now (the server's outbox worker). */
  outbox: { deliverUnit(serial: string): Promise<unknown> };
  /** How long a 'confirmed' order's confirm waits for its registrations (ms). */
  waitMs: number;
  /** Pause between checks while waiting (ms). */
  pollMs?: number;
}

/** A unit's registrations and whether they make it complete under its work order's policy. */
export interface GateResult {
  registrations: RegistrationState[];
  complete: boolean;
}

/** Each registry's state from the unit's registrations and register jobs (registration wins). */
export function registrationStates(registries: string[], jobs: OutboxJobRecord[], regs: Map<string, RegistrationRecord>): RegistrationState[] {
  return registries.map((registry): RegistrationState => {
    const reg = regs.get(registry);
    if (reg) return { registry, state: 'registered', externalId: reg.externalId };
    const job = jobs.filter((j) => j.registry === registry && j.action === 'register').at(-1);
    const ext = job?.externalId ? { externalId: job.externalId } : {};
    switch (job?.status) {
      case 'delivered': return { registry, state: 'registered', ...ext };
      case 'awaiting': return { registry, state: 'awaiting-connection', ...ext };
      case 'parked': return { registry, state: 'parked', error: job.lastError ?? 'parked' };
      default: return { registry, state: 'queued' };
    }
  });
}

/** Builds the gate: `gate(serial)` resolves with the registrations or throws as described above. */
export function createRegistrationGate(d: RegistrationGateDeps): (serial: string) => Promise<GateResult> {
  const pollMs = d.pollMs ?? 100;

  const read = (serial: string) => d.store.transaction(async (tx) => {
    const unit = await tx.units.getBySerial(serial);
    if (!unit) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial}`, { detail: { serial } });
    const wo = await tx.workOrders.get(unit.workOrder);
    const registries = wo?.registries ?? ['self'];
    const regs = new Map<string, RegistrationRecord>();
    for (const r of registries) {
      const reg = await tx.outbox.getRegistration(serial, r);
      if (reg) regs.set(r, reg);
    }
    return { policy: wo?.preregistration ?? 'confirmed', states: registrationStates(registries, await tx.outbox.jobsFor(serial), regs) };
  }, { readOnly: true });

  return async function gate(serial: string): Promise<GateResult> {
    const deadline = Date.now() + d.waitMs;
    const initial = await read(serial);
    let states = initial.states;
    // 'queued': the jobs were written with the unit, so it is complete as soon as it exists.
    if (initial.policy === 'queued') return { registrations: states, complete: true };
    for (;;) {
      if (states.some((s) => s.state === 'queued')) {
        await d.outbox.deliverUnit(serial);
        ({ states } = await read(serial));
      }
      const parked = states.filter((s) => s.state === 'parked');
      if (parked.length) {
        throw new RegistryError('REGISTRY_REJECTED',
          `unit ${serial}: ${parked.map((p) => `registry '${p.registry}' refused the registration (${p.error})`).join('; ')}`,
          { detail: { serial, registrations: states } });
      }
      if (isComplete(states)) return { registrations: states, complete: true };
      const left = deadline - Date.now();
      if (left <= 0) {
        const waiting = states.filter((s) => s.state === 'queued').map((s) => s.registry);
        throw new KeylineError('REGISTRATION_PENDING',
          `unit ${serial}: registration with ${waiting.join(', ')} not confirmed within ${d.waitMs} ms; confirm again to keep waiting`,
          { detail: { serial, registrations: states } });
      }
      await new Promise((r) => setTimeout(r, Math.min(pollMs, left)));
      ({ states } = await read(serial));
    }
  };
}

function isComplete(states: RegistrationState[]): boolean {
  return states.every((s) => s.state === 'registered' || s.state === 'awaiting-connection');
}
