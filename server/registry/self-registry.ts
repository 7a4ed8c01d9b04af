/**
 * Keyline's own registry: the enrollment service (server/enroll) already reads units from the
 * production database, so registering a unit here means recording that the unit is expected in
 * the field. The registrations table's unique (serial, registry) makes a repeated call harmless.
 */
import { KeylineError } from '../../common/errors.js';
import type { Store, UnitRecord } from '../store/store.js';
import type { Registry, RegistrationResult } from './registry.js';

/** The name work orders use for Keyline's own registry. */
export const SELF_REGISTRY = 'self';

/** Creates the self registry over the production store. */
export function createSelfRegistry(deps: { store: Store; now?: () => Date }): Registry {
  const now = deps.now ?? (() => new Date());
  return {
    name: SELF_REGISTRY,
    async register(unit: UnitRecord): Promise<RegistrationResult> {
      const externalId = `keyline:${unit.serial}`;
      await deps.store.transaction(async (tx) => {
        // The enrollment service trusts only units recorded here; a vanished unit is a bug upstream.
        if (!(await tx.units.getBySerial(unit.serial))) throw new KeylineError('UNKNOWN_UNIT', `unit ${unit.serial}: not found`);
        await tx.outbox.addRegistration({ serial: unit.serial, registry: SELF_REGISTRY, externalId, registeredAt: now().toISOString() });
      }, { shared: true }); // one small write per unit: shares the turn's commit (TxOptions.shared)
      return { externalId };
    },
    // Enrollment refuses revoked units by their status and the revocation table: nothing to withdraw.
    async revoke(): Promise<void> {},
  };
}
