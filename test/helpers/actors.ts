/**
 * Actors for service-level tests, as the API would pass them after authenticating a client
 * certificate (common/roles.ts).
 */
import type { Actor } from '../../common/roles.js';

export const STATION: Actor = { id: 'station-01', role: 'station' };
export const OPERATOR: Actor = { id: 'operator-01', role: 'operator' };
export const OFFICER: Actor = { id: 'officer-01', role: 'security-officer' };
export const AUDITOR: Actor = { id: 'auditor-01', role: 'auditor' };

/** A station actor with another id. */
export const station = (id: string): Actor => ({ id, role: 'station' });
