/**
 * The DPS reply bodies, and the one table that turns a Keyline refusal into what a DPS client
 * understands (../shared/reference/cloud-provisioning.md §4.2-4.3): a status below 300 carries a
 * body whose `status` drives the client (`assigning` → poll, `assigned` → done, `failed` and
 * `disabled` → the registration's end); 429 and every 5xx are retried by the clients after
 * retry-after; 400/401/404 are errors with a DPS error body, `errorCode` = HTTP status × 1000 + n.
 */
import { randomUUID } from 'node:crypto';
import { ERROR_TABLE, KeylineError, type ErrorCode } from '../../../common/errors.js';

/** One reply: its status (the topic's), body and retry-after. */
export interface DpsReply {
  status: number;
  body: Record<string, unknown>;
  retryAfterSeconds?: number;
}

/** `registrationState` of an assigned device (REST DeviceRegistrationResult). */
export interface RegistrationState {
  registrationId: string;
  deviceId: string;
  assignedHub: string;
  status: 'assigned';
  substatus: 'initialAssignment' | 'deviceDataMigrated' | 'deviceDataReset';
  createdDateTimeUtc: string;
  lastUpdatedDateTimeUtc: string;
  etag: string;
  /** X.509 attestation: the clients accept an empty object. */
  x509: Record<string, never>;
  payload: unknown;
}

/** 202: the registration is being processed; poll after `retryAfterSeconds`. */
export const assigning = (operationId: string, retryAfterSeconds: number): DpsReply => ({ status: 202, body: { operationId, status: 'assigning' }, retryAfterSeconds });

/** 200: assigned, with the full registration state. */
export const assigned = (operationId: string, registrationState: RegistrationState): DpsReply => ({ status: 200, body: { operationId, status: 'assigned', registrationState } });

/** A DPS error body on a refusal status (`errorCode` = status × 1000 + n). */
export function dpsError(status: number, n: number, message: string, now: Date, retryAfterSeconds?: number): DpsReply {
  return {
    status,
    body: { errorCode: status * 1000 + n, trackingId: randomUUID(), message, timestampUtc: now.toISOString() },
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

/** How each refusal reaches the device: an error status, or a finished registration that `failed` or is `disabled`. */
type Mapping = { error: number; n: number } | { ended: 'failed' | 'disabled'; errorCode: number };

const MAPPING: Partial<Record<ErrorCode, Mapping>> = {
  // DPS authenticates X.509 devices against an enrollment: no unit, or another key, is "unauthorized".
  UNKNOWN_DEVICE: { error: 401, n: 2 },
  KEY_MISMATCH: { error: 401, n: 2 },
  CERTIFICATE_UNTRUSTED: { error: 401, n: 2 },
  // Not yet confirmed by a station: as if its enrollment did not exist yet.
  UNIT_NOT_CONFIRMED: { error: 404, n: 201 },
  // A revoked unit is DPS's disabled enrollment: the registration ends `disabled`.
  DEVICE_REVOKED: { ended: 'disabled', errorCode: 401_003 },
  UNIT_REVOKED: { ended: 'disabled', errorCode: 401_003 },
  CERTIFICATE_REVOKED: { ended: 'disabled', errorCode: 401_003 },
  UNIT_QUARANTINED: { ended: 'disabled', errorCode: 401_003 },
  RATE_LIMITED: { error: 429, n: 1 },
  MALFORMED_MESSAGE: { error: 400, n: 4 },
};

/** The reply to a refusal or failure of operation `operationId` (null before there is one). */
export function replyForError(err: unknown, operationId: string | null, registrationId: string, now: Date): DpsReply {
  const k = err instanceof KeylineError && ERROR_TABLE[err.code].expose ? err : null;
  if (!k) return dpsError(500, 0, 'internal error; retry later', now, 5);
  const m = MAPPING[k.code];
  const message = `${k.code}: ${k.message}`;
  if (m && 'error' in m) {
    const retry = typeof k.detail?.retryAfterSeconds === 'number' ? k.detail.retryAfterSeconds : m.error === 429 ? 1 : undefined;
    return dpsError(m.error, m.n, message, now, retry);
  }
  const ended = m && 'ended' in m ? m : { ended: 'failed' as const, errorCode: ERROR_TABLE[k.code].http * 1000 };
  const registrationState = { registrationId, status: ended.ended, errorCode: ended.errorCode, errorMessage: message, lastUpdatedDateTimeUtc: now.toISOString() };
  return { status: 200, body: { ...(operationId ? { operationId } : {}), status: ended.ended, registrationState } };
}
