/**
 * Turns node-postgres errors into Keyline errors. PostgreSQL names the violated constraint in
 * `err.constraint` and the condition in `err.code` (SQLSTATE, PostgreSQL manual appendix A), so
 * the mapping reads those, never the message; callers never see SQL or driver text.
 */
import { ConflictError, KeylineError, type ErrorCode } from '../../../common/errors.js';

/** Which code a uniqueness failure on a constraint means to callers (as sqlite-errors.ts). */
const UNIQUE_CODES: Record<string, { code: ErrorCode; field: string }> = {
  units_pkey: { code: 'SERIAL_EXISTS', field: 'units.serial' },
  units_public_key_key: { code: 'DUPLICATE_KEY', field: 'units.public_key' },
  // A fingerprint or certificate-serial collision means the same certificate twice: a serial clash.
  units_fingerprint_sha256_key: { code: 'SERIAL_EXISTS', field: 'units.fingerprint_sha256' },
  units_certificate_serial_key: { code: 'SERIAL_EXISTS', field: 'units.certificate_serial' },
  work_orders_pkey: { code: 'WORK_ORDER_EXISTS', field: 'work_orders.id' },
  enrollments_pkey: { code: 'SERIAL_EXISTS', field: 'enrollments.serial' },
};

/** SQLSTATEs that mean "try again later": the transaction lost a lock or snapshot race. */
const CONFLICT_STATES = new Set(['40001', '40P01', '55P03']);

/** Maps a driver error to ConflictError / KeylineError; Keyline errors pass through unchanged. */
export function mapPgError(err: unknown, context: string): KeylineError {
  if (err instanceof KeylineError) return err;
  const e = err as { code?: unknown; constraint?: unknown };
  const state = typeof e.code === 'string' ? e.code : '';
  const constraint = typeof e.constraint === 'string' ? e.constraint : '';
  if (state === '23505') {
    const mapped = UNIQUE_CODES[constraint];
    if (mapped) return new ConflictError(mapped.code, `${context}: ${mapped.field} already recorded`, { detail: { field: mapped.field }, cause: err });
  }
  if (state === '23514' && constraint === 'work_orders_issued_within_quota') {
    return new KeylineError('QUOTA_EXCEEDED', `${context}: work order quota reached`, { cause: err });
  }
  if (state === '23503') {
    return constraint === 'units_work_order_fkey'
      ? new KeylineError('UNKNOWN_WORK_ORDER', `${context}: work order does not exist`, { cause: err })
      : new KeylineError('UNKNOWN_UNIT', `${context}: unit does not exist (${constraint})`, { cause: err });
  }
  // Not retried here: callers' transaction bodies have effects outside the database (see pg-store.ts).
  if (CONFLICT_STATES.has(state)) {
    return new KeylineError('STORE_ERROR', `${context}: concurrent transaction conflict (SQLSTATE ${state}); retry the request`, { cause: err });
  }
  // Only the SQLSTATE (or the socket error code) goes into the message: never SQL or values.
  const label = state || (typeof (err as { errno?: unknown }).errno === 'number' ? 'connection error' : 'database error');
  return new KeylineError('STORE_ERROR', `${context}: ${/^[0-9A-Z]{5}$/.test(label) ? `SQLSTATE ${label}` : label}`, { cause: err });
}
