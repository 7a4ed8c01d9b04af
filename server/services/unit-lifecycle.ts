/**
 * A unit after issuance: the station confirms it (then the registration gate), a station or the
 * security officer quarantines it, the officer releases it; and reads. Who may act on which unit
 * is decided here from the unit's work order (a station only on orders that allow it) and its
 * state (a confirmed unit may be in the field: only the officer takes it out of service, and only
 * the officer puts it back). Every change is audited in its transaction.
 */
import { KeylineError, ValidationError } from '../../common/errors.js';
import type { UnitConfirmed } from '../../common/protocol/station-api.js';
import type { Actor } from '../../common/roles.js';
import { UNIT_STATUSES, type Store, type Tx, type UnitRecord, type UnitStatus } from '../store/store.js';
import { assertStationOnWorkOrder } from './policies.js';
import { unitView } from './views.js';
import { workOrderOf } from './work-orders.js';

/** A unit's view with its status reason. */
export type UnitDetail = ReturnType<typeof unitView>;

/** What the unit functions need. */
export interface UnitLifecycleDeps {
  store: Store;
  now: () => Date;
  /** Settles a confirmed unit's registrations (registration-gate.ts). */
  gate: (serial: string) => Promise<Pick<UnitConfirmed, 'registrations' | 'complete'>>;
}

/** Reads the unit and checks the actor may act on it; UNKNOWN_UNIT, STATION_NOT_ALLOWED. */
async function unitFor(tx: Tx, serial: string, actor: Actor): Promise<UnitRecord> {
  const u = await tx.units.getBySerial(serial);
  if (!u) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial}`, { detail: { serial } });
  assertStationOnWorkOrder(actor, await workOrderOf(tx, u.workOrder));
  return u;
}

/** Builds the unit functions of the provisioning service. */
export function createUnitLifecycle(d: UnitLifecycleDeps) {
  const { store, now } = d;

  /**
   * Moves a unit to `status` in one audited transaction: `check` runs on every call, `allow` only
   * when the status would change (it refuses by throwing).
   */
  function transition(serial: string, status: UnitStatus, actor: Actor, rules: { check?: (u: UnitRecord) => void; allow: (u: UnitRecord) => void }, extra: { reason?: string } = {}) {
    return store.transaction(async (tx) => {
      const u = await unitFor(tx, serial, actor);
      rules.check?.(u);
      if (u.status === status) return unitView(u); // idempotent: a repeated confirm/quarantine changes nothing
      rules.allow(u);
      const at = now().toISOString();
      await tx.units.setStatus(serial, status, { at, ...(extra.reason ? { reason: extra.reason } : {}), ...(status === 'confirmed' ? { confirmedAt: at } : {}) });
      await tx.audit.append({ action: `unit.${status}`, actor: actor.id, subject: serial,
        detail: { from: u.status, ...(extra.reason ? { reason: extra.reason } : {}), ...(actor.role !== 'station' ? { role: actor.role } : {}) } });
      return unitView({ ...u, status, updatedAt: at, statusReason: extra.reason ?? u.statusReason, confirmedAt: status === 'confirmed' ? at : u.confirmedAt });
    });
  }

  const refuse = (u: UnitRecord, to: string, why = '') =>
    new ValidationError('VALIDATION_FAILED', `status: unit ${u.serial} is ${u.status}, cannot become ${to}${why}`, { detail: { serial: u.serial, status: u.status } });

  return {
    /**
     * The station confirms it wrote and verified the certificate: issued → confirmed (idempotent),
     * then the registration gate: complete, or REGISTRATION_PENDING / REGISTRY_REJECTED, which a
     * repeated confirm settles.
     */
    async confirmUnit(serial: string, body: { fingerprintSha256: string }, actor: Actor): Promise<UnitDetail & Pick<UnitConfirmed, 'registrations' | 'complete'>> {
      const unit = await transition(serial, 'confirmed', actor, {
        // A confirm, repeated or not, must name the certificate that was issued.
        check: (u) => {
          if (body.fingerprintSha256.toLowerCase() !== u.fingerprintSha256) {
            throw new ValidationError('VALIDATION_FAILED', `fingerprintSha256: does not match the certificate issued to ${serial}`, { detail: { serial } });
          }
        },
        allow: (u) => {
          if (u.status !== 'issued') throw refuse(u, 'confirmed');
        },
      });
      return { ...unit, ...(await d.gate(unit.serial)) };
    },

    /**
     * Sets a unit aside (failed verification, suspected clone); idempotent. A station may do so
     * only before it confirmed the unit; a confirmed unit may already be in the field, and taking
     * it out of service is the security officer's decision.
     */
    async quarantineUnit(serial: string, reason: string, actor: Actor): Promise<UnitDetail> {
      if (!reason) throw new ValidationError('VALIDATION_FAILED', 'reason: must not be empty');
      return transition(serial, 'quarantined', actor, {
        allow: (u) => {
          if (u.status === 'confirmed' && actor.role !== 'security-officer') {
            throw new KeylineError('FORBIDDEN', `unit ${serial} is confirmed: only a security officer may quarantine it`, { detail: { serial, status: u.status } });
          }
          if (u.status !== 'issued' && u.status !== 'confirmed') throw refuse(u, 'quarantined');
        },
      }, { reason });
    },

    /** The security officer returns a quarantined unit to where it was (confirmed if it had been, else issued). */
    async releaseUnit(serial: string, reason: string, actor: Actor): Promise<UnitDetail> {
      if (!reason) throw new ValidationError('VALIDATION_FAILED', 'reason: must not be empty');
      // The route table already admits only officers; the rule lives here too because it is the
      // other half of the quarantine rule above, which depends on the unit's state.
      if (actor.role !== 'security-officer') throw new KeylineError('FORBIDDEN', `only a security officer may release unit ${serial}`, { detail: { serial } });
      return store.transaction(async (tx) => {
        const u = await unitFor(tx, serial, actor);
        if (u.status !== 'quarantined') throw refuse(u, 'released', ' (only a quarantined unit is released)');
        const to: UnitStatus = u.confirmedAt ? 'confirmed' : 'issued';
        const at = now().toISOString();
        await tx.units.setStatus(serial, to, { at, reason });
        await tx.audit.append({ action: 'unit.released', actor: actor.id, subject: serial, detail: { from: 'quarantined', to, reason, quarantineReason: u.statusReason, role: actor.role } });
        return unitView({ ...u, status: to, updatedAt: at, statusReason: reason });
      });
    },

    /** One unit with its certificate and what its key-origin evidence established; UNKNOWN_UNIT when absent. */
    async getUnit(serial: string, actor: Actor): Promise<UnitDetail> {
      const [u, k] = await store.transaction(async (tx) => [await unitFor(tx, serial, actor), await tx.attestations.get(serial)] as const, { readOnly: true });
      const view = unitView(u, true);
      return k ? { ...view, keyOrigin: { chip: k.chip, format: k.format, status: k.status, reason: k.reason } } : view;
    },

    /** A page of units, filtered by work order and status, ordered by serial. */
    async listUnits(q: { workOrder?: string; status?: UnitStatus; cursor?: string; limit?: number } = {}): Promise<{ units: UnitDetail[]; nextCursor: string | null }> {
      if (q.status !== undefined && !UNIT_STATUSES.includes(q.status)) throw new ValidationError('VALIDATION_FAILED', `status: expected one of ${UNIT_STATUSES.join(', ')}, got '${q.status}'`);
      const page = await store.transaction((tx) => tx.units.list(q), { readOnly: true });
      return { units: page.units.map((u) => unitView(u)), nextCursor: page.nextCursor };
    },
  };
}
