/**
 * The one table that turns a Keyline refusal into AWS Fleet Provisioning's rejected payload
 * `{statusCode, errorCode, errorMessage}` (../shared/reference/cloud-provisioning.md §3.2):
 * `InvalidCertificateOwnershipToken` (400) and `ACCESS_DENIED` (403, a pre-provisioning hook's
 * refusal) as AWS names them; the rest by the HTTP status ERROR_TABLE gives each code. Unexposed
 * errors leave as InternalError without their message.
 */
import { ERROR_TABLE, KeylineError, type ErrorCode } from '../../../common/errors.js';

/** The rejected payload. */
export interface FleetRejection {
  statusCode: number;
  errorCode: string;
  errorMessage: string;
  [key: string]: string | number;
}

const BY_CODE: Partial<Record<ErrorCode, [number, string]>> = {
  OWNERSHIP_TOKEN_INVALID: [400, 'InvalidCertificateOwnershipToken'],
  PROVISIONING_DENIED: [403, 'ACCESS_DENIED'],
  TEMPLATE_UNKNOWN: [404, 'ResourceNotFound'],
  RATE_LIMITED: [429, 'Throttling'],
  DUPLICATE_KEY: [409, 'ResourceAlreadyExists'],
  // A unit that may not (yet, or any more) be provisioned: the claim is not honoured.
  UNKNOWN_DEVICE: [403, 'ACCESS_DENIED'],
  UNKNOWN_UNIT: [403, 'ACCESS_DENIED'],
  KEY_MISMATCH: [403, 'ACCESS_DENIED'],
  UNIT_NOT_CONFIRMED: [403, 'ACCESS_DENIED'],
  UNIT_QUARANTINED: [403, 'ACCESS_DENIED'],
  UNIT_REVOKED: [403, 'ACCESS_DENIED'],
  DEVICE_REVOKED: [403, 'ACCESS_DENIED'],
};

/** By HTTP status, for every other exposed code. */
const BY_STATUS: Record<number, string> = { 400: 'InvalidPayload', 401: 'ACCESS_DENIED', 403: 'ACCESS_DENIED', 404: 'ResourceNotFound', 409: 'Conflict' };

/** The rejected payload for any error. */
export function fleetRejection(err: unknown): FleetRejection {
  if (!(err instanceof KeylineError) || !ERROR_TABLE[err.code].expose) return { statusCode: 500, errorCode: 'InternalError', errorMessage: 'internal error; retry later' };
  const byCode = BY_CODE[err.code];
  const http = ERROR_TABLE[err.code].http;
  const [statusCode, errorCode] = byCode ?? (BY_STATUS[http] ? [http === 401 ? 403 : http, BY_STATUS[http]!] : [500, 'InternalError']);
  return { statusCode, errorCode, errorMessage: `${err.code}: ${err.message}` };
}

/** A request the payload does not make (400 InvalidPayload). */
export const invalidPayload = (message: string): FleetRejection => ({ statusCode: 400, errorCode: 'InvalidPayload', errorMessage: message });
