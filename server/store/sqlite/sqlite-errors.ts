/**
 * Turns better-sqlite3 errors into Keyline errors. SQLite reports which constraint failed only in
 * its message ("UNIQUE constraint failed: units.public_key"), so this one place reads it.
 */
import { ConflictError, KeylineError } from '../../../common/errors.js';

/** Which code a uniqueness failure on a column means to callers. */
const UNIQUE_CODES = {
  'units.serial': 'SERIAL_EXISTS',
  'units.public_key': 'DUPLICATE_KEY',
  // A fingerprint or certificate-serial collision means the same certificate twice: a serial clash.
  'units.fingerprint_sha256': 'SERIAL_EXISTS',
  'units.certificate_serial': 'SERIAL_EXISTS',
  'work_orders.id': 'WORK_ORDER_EXISTS',
} as const;

/** Maps a driver error to ConflictError / KeylineError; Keyline errors pass through unchanged. */
export function mapSqliteError(err: unknown, context: string): KeylineError {
  if (err instanceof KeylineError) return err;
  const e = err as { code?: string; message?: string };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const column = /failed: ([\w.]+)/.exec(e.message ?? '')?.[1] ?? '';
    const mapped = UNIQUE_CODES[column as keyof typeof UNIQUE_CODES];
    if (mapped) return new ConflictError(mapped, `${context}: ${column} already recorded`, { detail: { field: column }, cause: err });
  }
  if (code === 'SQLITE_CONSTRAINT_CHECK' && /issued/.test(e.message ?? '')) {
    return new KeylineError('QUOTA_EXCEEDED', `${context}: work order quota reached`, { cause: err });
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    return new KeylineError('UNKNOWN_WORK_ORDER', `${context}: work order does not exist`, { cause: err });
  }
  return new KeylineError('STORE_ERROR', `${context}: ${code || 'database error'}`, { cause: err });
}
