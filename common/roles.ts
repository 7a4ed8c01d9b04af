/**
 * Who may act, as carried in a client certificate's subject: CN = the identity's id, OU = its
 * role. One list, read by the ceremony that issues identities, the API's route table and the store.
 */

/**
 * The roles, least to most trusted in what they may change:
 * - station: issues, confirms and quarantines units of the work orders it is allowed on;
 * - operator: creates and closes work orders, sets quotas and station lists, reads everything;
 * - security-officer: revokes, quarantines shipped (confirmed) units and releases quarantined ones;
 * - auditor: reads units, the audit log and the reconciliation, changes nothing.
 */
export const ROLES = ['station', 'operator', 'security-officer', 'auditor'] as const;

/** One of ROLES. */
export type Role = (typeof ROLES)[number];

/** An authenticated caller, as services see it. */
export interface Actor {
  id: string;
  role: Role;
}

/** True when `value` names a role. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
