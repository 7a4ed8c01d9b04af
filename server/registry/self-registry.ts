/**
 * Keyline's own registry: the enrollment service (server/enroll) already reads units from the
 * production database, so registering a unit here means recording that the unit is expected in
 * the field. The registrations table's unique (serial, registry) makes a repeated call harmless.
 *
 * Issuance writes this registration in the unit's own transaction (services/record-units.ts,
 * selfRegistration): a unit is never recorded without it, and no outbox job is queued for it
 * (issue 13: the job's claim, read, registration and outcome were three or four more
 * transactions per unit). The Registry below delivers the 'self' jobs a database written
 * before that still holds.
 */
import { KeylineError } from '../../common/errors.js';
import type { RegistrationRecord, Store, UnitRecord } from '../store/store.js';
import type { Registry, RegistrationResult } from './registry.js';

/** The name work orders use for Keyline's own registry. */
export const SELF_REGISTRY = 'self';

/** The self registration of unit `serial`, registered at `at` (ISO). */
export function selfRegistration(serial: string, at: string): RegistrationRecord {
  return { serial, registry: SELF_REGISTRY, externalId: `keyline:${serial}`, registeredAt: at };
}

/** Creates the self registry over the production store. */
export function createSelfRegistry(deps: { store: Store; now?: () => Date }): Registry {
  const now = deps.now ?? (() => new Date());
  return {
    name: SELF_REGISTRY,
    async register(unit: UnitRecord): Promise<RegistrationResult> {
      const registration = selfRegistration(unit.serial, now().toISOString());
      await deps.store.transaction(async (tx) => {
        // The enrollment service trusts only units recorded here; a vanished unit is a bug upstream.
        if (!(await tx.units.getBySerial(unit.serial))) throw new KeylineError('UNKNOWN_UNIT', `unit ${unit.serial}: not found`);
        await tx.outbox.addRegistration(registration);
      }, { shared: true }); // one small write per unit: shares the turn's commit (TxOptions.shared)
      return { externalId: registration.externalId };
    },
    // Enrollment refuses revoked units by their status and the revocation table: nothing to withdraw.
    async revoke(): Promise<void> {},
  };
}
