/**
 * The seam every preregistration target implements: Keyline's own registry, AWS IoT
 * (aws-iot-registry.ts) and Azure DPS (azure-dps-registry.ts). The outbox worker calls it
 * outside any database transaction, possibly more than once for one job (a crash between
 * delivery and the delivered mark), so every call must be idempotent: registering a unit twice
 * yields the same registration, never a second one.
 *
 * Failures are RegistryError (common/errors.ts): REGISTRY_THROTTLED / REGISTRY_UNAVAILABLE are
 * retried with backoff (honouring retryAfterMs), REGISTRY_REJECTED parks the job at once. Any
 * other thrown error counts as transient. Every kind and mode runs the contract suite
 * test/server/registry/registry.suite.ts.
 */
import type { UnitRecord } from '../store/store.js';

/** The result of registering one unit. */
export interface RegistrationResult {
  /** The registry's own identifier of the unit (thing name, enrollment id, ...). */
  externalId: string;
  /**
   * True in a CA-level mode (AWS JITP, Azure DPS enrollment group): the registry will create the
   * device at its first connection, and the outbox keeps the job 'awaiting' and polls
   * confirmConnection until then.
   */
  awaitingConnection?: boolean;
}

/** A registry that units are preregistered with before they ship. */
export interface Registry {
  /** The name work orders use for this registry (e.g. 'self', 'aws-eu'). */
  readonly name: string;
  /** Calls per second this registry admits (the outbox never exceeds it); unlimited when absent. */
  readonly maxPerSecond?: number;
  /**
   * Makes the unit known to the registry; idempotent. A unit the registry holds withdrawn stays
   * withdrawn: register then resolves leaving it so, or refuses with REGISTRY_REJECTED.
   */
  register(unit: UnitRecord): Promise<RegistrationResult>;
  /**
   * CA-level modes only: whether the device has connected and the registry created it; returns
   * the registration then, null while it has not. Idempotent and read-only.
   */
  confirmConnection?(unit: UnitRecord): Promise<RegistrationResult | null>;
  /**
   * Withdraws the unit (revoked, deactivated or disabled, as the registry allows); idempotent. A
   * unit never registered is withdrawn all the same where the registry could still admit it (a
   * late register job, a CA-level first connection), so that neither brings it in; it resolves.
   */
  revoke(unit: UnitRecord): Promise<void>;
}
