/**
 * The seam every preregistration target implements (Keyline's own registry today; AWS IoT and
 * Azure DPS later). The outbox worker calls it outside any database transaction, possibly more
 * than once for one job (a crash between delivery and the delivered mark), so every call must
 * be idempotent: registering a unit twice yields the same registration, never a second one.
 */
import type { UnitRecord } from '../store/store.js';

/** The result of registering one unit. */
export interface RegistrationResult {
  /** The registry's own identifier of the unit (thing name, enrollment id, ...). */
  externalId: string;
}

/** A registry that units are preregistered with before they ship. */
export interface Registry {
  /** The name work orders use for this registry (e.g. 'self'). */
  readonly name: string;
  /** Makes the unit known to the registry; idempotent. */
  register(unit: UnitRecord): Promise<RegistrationResult>;
  /** Withdraws the unit (revoked, deactivated or disabled, as the registry allows); idempotent. */
  revoke(unit: UnitRecord): Promise<void>;
}
