/**
 * One error type for the whole project: a stable `code`, a public `detail`, and the standard `cause`.
 * The wire mapping (HTTP status, the enrollment protocol's error code, whether the message is
 * shown to the caller) lives in ERROR_TABLE below and is read only by the API and enrollment
 * boundaries. The `mqtt` column holds only codes of the enrollment protocol (ENROLL_ERROR_CODES),
 * checked by the compiler: codes the enrollment path never raises map to INTERNAL on purpose.
 */
import type { EnrollErrorCode } from './protocol/enrollment.js';

/** Every error code Keyline emits; stable, part of the public contract. */
export const ERROR_TABLE = {
  // generic
  INTERNAL: { http: 500, mqtt: 'INTERNAL', expose: false },
  NOT_SUPPORTED: { http: 501, mqtt: 'INTERNAL', expose: true },
  CONFIG_INVALID: { http: 500, mqtt: 'INTERNAL', expose: false },
  VALIDATION_FAILED: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  MALFORMED_JSON: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  DUPLICATE_JSON_KEY: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  BODY_TOO_LARGE: { http: 413, mqtt: 'MALFORMED_MESSAGE', expose: true },
  NOT_FOUND: { http: 404, mqtt: 'MALFORMED_MESSAGE', expose: true },
  METHOD_NOT_ALLOWED: { http: 405, mqtt: 'MALFORMED_MESSAGE', expose: true },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, mqtt: 'MALFORMED_MESSAGE', expose: true },
  // The console (issue 18): a change not proven to come from the console's own pages; an event
  // stream asked for without Accept: text/event-stream; too many live streams open at once.
  CSRF_REJECTED: { http: 403, mqtt: 'INTERNAL', expose: true },
  NOT_ACCEPTABLE: { http: 406, mqtt: 'MALFORMED_MESSAGE', expose: true },
  STREAMS_EXHAUSTED: { http: 503, mqtt: 'INTERNAL', expose: true },
  // authentication / authorisation
  UNAUTHENTICATED: { http: 401, mqtt: 'INTERNAL', expose: true },
  CERTIFICATE_UNTRUSTED: { http: 401, mqtt: 'CERTIFICATE_UNTRUSTED', expose: true },
  CERTIFICATE_EXPIRED: { http: 401, mqtt: 'CERTIFICATE_UNTRUSTED', expose: true },
  CERTIFICATE_REVOKED: { http: 403, mqtt: 'DEVICE_REVOKED', expose: true },
  FORBIDDEN: { http: 403, mqtt: 'INTERNAL', expose: true },
  STATION_NOT_ALLOWED: { http: 403, mqtt: 'INTERNAL', expose: true },
  // key and request material
  INVALID_PUBLIC_KEY: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  POINT_NOT_ON_CURVE: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  UNSUPPORTED_CURVE: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  MALFORMED_DER: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  INVALID_CSR: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  CSR_SIGNATURE_INVALID: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  INVALID_SERIAL: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  // issuance policy
  UNKNOWN_WORK_ORDER: { http: 404, mqtt: 'MALFORMED_MESSAGE', expose: true },
  WORK_ORDER_EXISTS: { http: 409, mqtt: 'MALFORMED_MESSAGE', expose: true },
  WORK_ORDER_CLOSED: { http: 403, mqtt: 'MALFORMED_MESSAGE', expose: true },
  QUOTA_EXCEEDED: { http: 403, mqtt: 'MALFORMED_MESSAGE', expose: true },
  QUOTA_BELOW_ISSUED: { http: 409, mqtt: 'MALFORMED_MESSAGE', expose: true },
  DUPLICATE_KEY: { http: 409, mqtt: 'INTERNAL', expose: true },
  SERIAL_EXISTS: { http: 409, mqtt: 'MALFORMED_MESSAGE', expose: true },
  IDEMPOTENCY_MISMATCH: { http: 409, mqtt: 'MALFORMED_MESSAGE', expose: true },
  UNKNOWN_UNIT: { http: 404, mqtt: 'UNKNOWN_DEVICE', expose: true },
  UNIT_NOT_CONFIRMED: { http: 409, mqtt: 'UNIT_NOT_CONFIRMED', expose: true },
  UNIT_REVOKED: { http: 409, mqtt: 'DEVICE_REVOKED', expose: true },
  // HSM / CA
  HSM_ERROR: { http: 503, mqtt: 'INTERNAL', expose: false },
  HSM_KEY_NOT_FOUND: { http: 500, mqtt: 'INTERNAL', expose: false },
  HSM_LOGIN_FAILED: { http: 500, mqtt: 'INTERNAL', expose: false },
  HSM_KEY_EXISTS: { http: 500, mqtt: 'INTERNAL', expose: false },
  CA_KEY_MISMATCH: { http: 500, mqtt: 'INTERNAL', expose: false },
  CHAIN_INVALID: { http: 500, mqtt: 'INTERNAL', expose: false },
  ROOT_KEY_ON_LINE: { http: 500, mqtt: 'INTERNAL', expose: false },
  CA_KEY_NOT_IN_HSM: { http: 500, mqtt: 'INTERNAL', expose: false },
  CA_KEY_USAGE: { http: 500, mqtt: 'INTERNAL', expose: false },
  PKI_EXISTS: { http: 409, mqtt: 'INTERNAL', expose: true },
  // CA lifecycle (issue 19): the ceremony's refusals, and issuance with a CA the root revoked
  CA_REVOKED: { http: 503, mqtt: 'INTERNAL', expose: true },
  CA_UNKNOWN: { http: 503, mqtt: 'INTERNAL', expose: true },
  CA_EXPIRED: { http: 503, mqtt: 'INTERNAL', expose: true },
  CRL_INVALID: { http: 400, mqtt: 'INTERNAL', expose: true },
  CRL_NOT_NEWER: { http: 409, mqtt: 'INTERNAL', expose: true },
  ROOT_KEY_EXISTS: { http: 409, mqtt: 'INTERNAL', expose: true },
  LINE_TOKEN: { http: 409, mqtt: 'INTERNAL', expose: true },
  WITNESSES_REQUIRED: { http: 400, mqtt: 'INTERNAL', expose: true },
  TRANSCRIPT_INVALID: { http: 400, mqtt: 'INTERNAL', expose: true },
  // store / audit
  STORE_ERROR: { http: 503, mqtt: 'INTERNAL', expose: false },
  // secure element
  ATCA_MISCOMPARE: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_PARSE_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_ECC_FAULT: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_SELFTEST_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_HEALTH_TEST_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_EXECUTION_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_WAKE_FAILED: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_WATCHDOG: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_COMM_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_CRC_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_TIMEOUT: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_BAD_RESPONSE: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCA_BAD_PARAM: { http: 500, mqtt: 'INTERNAL', expose: true },
  KIT_PROTOCOL_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  KIT_DEVICE_NOT_FOUND: { http: 500, mqtt: 'INTERNAL', expose: true },
  CHIP_IMAGE_INVALID: { http: 500, mqtt: 'INTERNAL', expose: true },
  // SE05x (status words in SecureElementError.status)
  SE05X_STATUS_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  SE05X_DENIED: { http: 500, mqtt: 'INTERNAL', expose: true },
  SE05X_COMM_ERROR: { http: 500, mqtt: 'INTERNAL', expose: true },
  SE05X_BAD_RESPONSE: { http: 500, mqtt: 'INTERNAL', expose: true },
  // the line (issue 15): a part of another chip than its work order's; an endpoint that speaks
  // neither the ATECC608 kit protocol nor JRCP v1
  CHIP_MISMATCH: { http: 409, mqtt: 'INTERNAL', expose: true },
  ENDPOINT_PROTOCOL_UNKNOWN: { http: 502, mqtt: 'INTERNAL', expose: true },
  // key-origin attestation evidence that does not verify
  ATTESTATION_INVALID: { http: 403, mqtt: 'MALFORMED_MESSAGE', expose: true },
  // compressed certificates
  ATCACERT_INVALID: { http: 500, mqtt: 'INTERNAL', expose: true },
  ATCACERT_TEMPLATE_MISMATCH: { http: 500, mqtt: 'INTERNAL', expose: true },
  // enrollment
  REPLAYED: { http: 409, mqtt: 'REPLAYED', expose: true },
  SIGNATURE_INVALID: { http: 401, mqtt: 'SIGNATURE_INVALID', expose: true },
  RATE_LIMITED: { http: 429, mqtt: 'RATE_LIMITED', expose: true },
  // enrollment wire codes (common/protocol/enrollment.ts ENROLL_ERROR_CODES): mqtt = the code itself
  MALFORMED_MESSAGE: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  UNKNOWN_DEVICE: { http: 404, mqtt: 'UNKNOWN_DEVICE', expose: true },
  KEY_MISMATCH: { http: 401, mqtt: 'KEY_MISMATCH', expose: true },
  DEVICE_REVOKED: { http: 403, mqtt: 'DEVICE_REVOKED', expose: true },
  NONCE_INVALID: { http: 400, mqtt: 'NONCE_INVALID', expose: true },
  // clients
  SERVER_UNREACHABLE: { http: 503, mqtt: 'INTERNAL', expose: true },
  BAD_SERVER_RESPONSE: { http: 502, mqtt: 'INTERNAL', expose: true },
  // device side (firmware-sim): what a device concludes, never sent by the server
  DEVICE_STATE_INVALID: { http: 500, mqtt: 'INTERNAL', expose: true },
  CONFIG_SIGNATURE_INVALID: { http: 502, mqtt: 'INTERNAL', expose: true },
  BROKER_UNREACHABLE: { http: 503, mqtt: 'INTERNAL', expose: true },
  ENROLLMENT_TIMEOUT: { http: 504, mqtt: 'INTERNAL', expose: true },
  // preregistration (server/registry)
  UNKNOWN_REGISTRY: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  REGISTRATION_PENDING: { http: 503, mqtt: 'INTERNAL', expose: true },
  REGISTRY_THROTTLED: { http: 503, mqtt: 'INTERNAL', expose: true },
  REGISTRY_UNAVAILABLE: { http: 503, mqtt: 'INTERNAL', expose: true },
  REGISTRY_REJECTED: { http: 502, mqtt: 'INTERNAL', expose: true },
  // scale-out
  LEASE_HELD: { http: 409, mqtt: 'INTERNAL', expose: true },
  // EST (issue 17): re-enrollment rules, proof-of-possession linking, manual approval
  UNIT_QUARANTINED: { http: 409, mqtt: 'INTERNAL', expose: true },
  CERTIFICATE_SUPERSEDED: { http: 403, mqtt: 'INTERNAL', expose: true },
  KEY_REUSE_NOT_ALLOWED: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  SUBJECT_MISMATCH: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  POP_LINK_INVALID: { http: 400, mqtt: 'MALFORMED_MESSAGE', expose: true },
  ENROLLMENT_REJECTED: { http: 403, mqtt: 'INTERNAL', expose: true },
  UNKNOWN_ENROLLMENT_REQUEST: { http: 404, mqtt: 'INTERNAL', expose: true },
  // Cloud device-provisioning endpoints (issue 16): AWS Fleet Provisioning's ownership token and
  // templates, a pre-provisioning hook's refusal
  OWNERSHIP_TOKEN_INVALID: { http: 400, mqtt: 'INTERNAL', expose: true },
  TEMPLATE_UNKNOWN: { http: 404, mqtt: 'INTERNAL', expose: true },
  PROVISIONING_DENIED: { http: 403, mqtt: 'INTERNAL', expose: true },
} as const satisfies Record<string, { http: number; mqtt: EnrollErrorCode; expose: boolean }>;

/** A stable, UPPER_SNAKE error code. */
export type ErrorCode = keyof typeof ERROR_TABLE;

/** The base of every error Keyline throws on purpose. */
export class KeylineError extends Error {
  readonly code: ErrorCode;
  /** Extra facts safe to show a caller (field names, values at fault). */
  readonly detail?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { detail?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.detail) this.detail = options.detail;
  }

  /** The wire mapping of this error's code. */
  get mapping(): (typeof ERROR_TABLE)[ErrorCode] {
    return ERROR_TABLE[this.code];
  }
}

/** Input that failed validation: a field, a value, a format. */
export class ValidationError extends KeylineError {}

/** A uniqueness or state conflict (duplicate key, serial exists). */
export class ConflictError extends KeylineError {}

/** A secure element answered with a non-success status byte, or could not be reached. */
export class SecureElementError extends KeylineError {
  readonly status?: number;
  constructor(code: ErrorCode, message: string, options: { status?: number; detail?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, options);
    if (options.status !== undefined) this.status = options.status;
  }
}

/** A PKCS#11 failure; `ckr` carries the CKR_* name where the module gave one. */
export class HsmError extends KeylineError {
  readonly ckr?: string;
  constructor(code: ErrorCode, message: string, options: { ckr?: string; detail?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, options);
    if (options.ckr !== undefined) this.ckr = options.ckr;
  }
}

/**
 * A registry (AWS IoT, Azure DPS, ...) refused or could not take a call. REGISTRY_THROTTLED and
 * REGISTRY_UNAVAILABLE are transient (retried, honouring `retryAfterMs`); REGISTRY_REJECTED is
 * permanent (the request itself is wrong: the outbox parks the job at once with this reason).
 */
export class RegistryError extends KeylineError {
  /** The registry's own wait hint (Retry-After), when it gave one. */
  readonly retryAfterMs?: number;
  constructor(code: 'REGISTRY_THROTTLED' | 'REGISTRY_UNAVAILABLE' | 'REGISTRY_REJECTED', message: string,
    options: { retryAfterMs?: number; detail?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, options);
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** True when `err` is a KeylineError carrying `code` (never match on messages). */
export function hasCode(err: unknown, code: ErrorCode): err is KeylineError {
  return err instanceof KeylineError && err.code === code;
}
