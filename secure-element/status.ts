/**
 * The chip's status byte (the payload of a 4-byte response) mapped to a typed SecureElementError.
 * Codes follow the datasheet's status table and cryptoauthlib's isATCAError (lib/calib/calib_command.c).
 */
import { SecureElementError, type ErrorCode } from '../common/errors.js';

/** Status bytes the 608 answers with (datasheet, "Status/Error Codes"). */
export const Status = {
  SUCCESS: 0x00,
  MISCOMPARE: 0x01,
  PARSE_ERROR: 0x03,
  ECC_FAULT: 0x05,
  SELFTEST_ERROR: 0x07,
  HEALTH_TEST_ERROR: 0x08,
  EXECUTION_ERROR: 0x0f,
  AFTER_WAKE: 0x11,
  WATCHDOG: 0xee,
  COMM_ERROR: 0xff,
} as const;

const BY_STATUS: Record<number, { code: ErrorCode; what: string }> = {
  [Status.MISCOMPARE]: { code: 'ATCA_MISCOMPARE', what: 'CheckMac/Verify miscompare' },
  [Status.PARSE_ERROR]: { code: 'ATCA_PARSE_ERROR', what: 'parse error (bad opcode, parameter or length)' },
  [Status.ECC_FAULT]: { code: 'ATCA_ECC_FAULT', what: 'ECC fault' },
  [Status.SELFTEST_ERROR]: { code: 'ATCA_SELFTEST_ERROR', what: 'self-test error: chip in failure mode' },
  [Status.HEALTH_TEST_ERROR]: { code: 'ATCA_HEALTH_TEST_ERROR', what: 'RNG health-test error' },
  [Status.EXECUTION_ERROR]: { code: 'ATCA_EXECUTION_ERROR', what: 'execution error: not allowed by configuration or state' },
  // 0x11 as the answer to a command means the chip only just woke and never saw the command.
  [Status.AFTER_WAKE]: { code: 'ATCA_COMM_ERROR', what: 'after-wake status: the command was not received' },
  [Status.WATCHDOG]: { code: 'ATCA_WATCHDOG', what: 'watchdog about to expire' },
  [Status.COMM_ERROR]: { code: 'ATCA_CRC_ERROR', what: 'the chip received a bad CRC or frame' },
};

/**
 * The error for a non-zero status byte, or null for success. `context` names the command
 * (e.g. `GenKey slot 2`) so the message says which call failed.
 */
export function statusError(status: number, context: string): SecureElementError | null {
  if (status === Status.SUCCESS) return null;
  const hit = BY_STATUS[status];
  const hex = `0x${status.toString(16).padStart(2, '0')}`;
  if (!hit) return new SecureElementError('ATCA_BAD_RESPONSE', `${context}: unknown status ${hex}`, { status });
  return new SecureElementError(hit.code, `${context}: ${hit.what} (status ${hex})`, { status });
}

/** Codes worth another attempt: the link or the chip's timing failed, not the command's logic. */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ATCA_CRC_ERROR',
  'ATCA_COMM_ERROR',
  'ATCA_WATCHDOG',
  'ATCA_WAKE_FAILED',
]);

/** True when `err` carries a retryable code. */
export function isRetryable(err: unknown): boolean {
  return err instanceof SecureElementError && RETRYABLE_CODES.has(err.code);
}

/**
 * True when the chip provably did not execute the command (it rejected the frame or never saw it),
 * so even a non-idempotent command (Counter increment) can be sent again.
 */
export function notExecuted(err: unknown): boolean {
  if (!(err instanceof SecureElementError)) return false;
  if (err.code === 'ATCA_WAKE_FAILED') return true;
  return err.status === Status.COMM_ERROR || err.status === Status.AFTER_WAKE || err.status === Status.WATCHDOG;
}
