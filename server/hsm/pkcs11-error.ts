/**
 * Turns pkcs11js' Pkcs11Error (a numeric CK_RV) into an HsmError carrying the CKR_* name, and
 * names the return values that mean "the session or login is gone" (token removed, closed underneath).
 */
import pkcs11js from 'pkcs11js';
import { HsmError, type ErrorCode } from '../../common/errors.js';

const CKR_NAMES = new Map<number, string>(
  Object.entries(pkcs11js as unknown as Record<string, unknown>)
    .filter(([k, v]) => k.startsWith('CKR_') && typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

/** The CKR_* name of a pkcs11js error, or undefined for other errors. */
export function ckrName(err: unknown): string | undefined {
  if (err instanceof pkcs11js.Pkcs11Error) return CKR_NAMES.get(err.code) ?? `CKR_0x${err.code.toString(16)}`;
  if (err instanceof HsmError) return err.ckr;
  return undefined;
}

/**
 * Return values after which the pool must reopen sessions and log in again (PKCS#11 v2.40 §5.1:
 * closing the last session or removing the token logs the application out and invalidates handles).
 */
export const SESSION_LOST = new Set([
  'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT',
  'CKR_USER_NOT_LOGGED_IN', 'CKR_DEVICE_ERROR', 'CKR_CRYPTOKI_NOT_INITIALIZED',
]);

/** Object handles are per application and die with the last session; re-find the key after these. */
export const HANDLE_LOST = new Set(['CKR_OBJECT_HANDLE_INVALID', 'CKR_KEY_HANDLE_INVALID']);

/** Wraps any failure of a PKCS#11 call as an HsmError (code HSM_ERROR unless given), keeping the CKR_* name. */
export function toHsmError(err: unknown, what: string, code: ErrorCode = 'HSM_ERROR'): HsmError {
  if (err instanceof HsmError) return err;
  const ckr = ckrName(err);
  return new HsmError(code, `${what} failed${ckr ? `: ${ckr}` : `: ${(err as Error)?.message ?? String(err)}`}`, { ckr, cause: err });
}
