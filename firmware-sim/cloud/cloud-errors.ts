/**
 * Refusals from the cloud provisioning endpoints, as the device sees them: a typed error with a
 * Keyline code, whichever of the two protocols carried it. Keyline's endpoints write
 * `<CODE>: <message>` into the AWS `errorMessage` and the DPS `message` / `errorMessage`, so the
 * device reports the server's own code; anything else (a real cloud, an older server) gets the
 * protocol's status mapped to the nearest code.
 */
import { ERROR_TABLE, KeylineError, type ErrorCode } from '../../common/errors.js';
import { EnrollmentRefusedError } from '../enroll-client.js';

/** The protocols a device can enroll through. */
export const ENROLL_PROTOCOLS = ['keyline', 'aws-fleet', 'dps'] as const;
/** One of ENROLL_PROTOCOLS. */
export type EnrollProtocol = (typeof ENROLL_PROTOCOLS)[number];

/** A refusal from an AWS Fleet Provisioning or DPS endpoint (CONNACK refusal, rejected reply, failed registration). */
export class CloudRefusedError extends KeylineError {
  readonly protocol: Exclude<EnrollProtocol, 'keyline'>;
  readonly retryAfterSeconds?: number;
  constructor(protocol: Exclude<EnrollProtocol, 'keyline'>, code: ErrorCode, message: string, o: { wire?: Record<string, unknown>; retryAfterSeconds?: number } = {}) {
    super(code, `${protocol} refused: ${message}`, { detail: { protocol, ...(o.wire ? { wire: o.wire } : {}) } });
    this.protocol = protocol;
    if (o.retryAfterSeconds !== undefined) this.retryAfterSeconds = o.retryAfterSeconds;
  }
}

/** A refusal by the server in any protocol (as opposed to a failure on the device or the network), with its retry hint. */
export function refusalOf(err: unknown): { retryAfterSeconds?: number } | null {
  return err instanceof EnrollmentRefusedError || err instanceof CloudRefusedError ? err : null;
}

/** The Keyline code a Keyline endpoint put in front of a message (`UNIT_REVOKED: ...`), or null. */
export function keylineCodeIn(message: unknown): ErrorCode | null {
  if (typeof message !== 'string') return null;
  const m = /^([A-Z][A-Z0-9_]+): /.exec(message);
  return m && Object.hasOwn(ERROR_TABLE, m[1]!) ? (m[1] as ErrorCode) : null;
}

/**
 * CONNACK return codes (MQTT 3.1.1 §3.2.2.3) as refusals: both endpoints refuse a certificate
 * they do not accept (untrusted, revoked, CN not a serial) or a DPS username that does not match
 * with 5, and a server that cannot take the device now with 3.
 */
export function connackRefusal(protocol: Exclude<EnrollProtocol, 'keyline'>, returnCode: number, url: string): KeylineError {
  if (returnCode === 3) return new KeylineError('BROKER_UNREACHABLE', `${protocol} endpoint ${url} is unavailable (CONNACK 3)`, { detail: { phase: 'handshake' } });
  const code: ErrorCode = returnCode === 5 || returnCode === 4 ? 'UNAUTHENTICATED' : returnCode === 2 ? 'VALIDATION_FAILED' : 'BAD_SERVER_RESPONSE';
  return new CloudRefusedError(protocol, code, `${url} refused the connection (CONNACK ${returnCode}: ${CONNACK[returnCode] ?? 'unknown'})`, { wire: { connack: returnCode } });
}

const CONNACK: Record<number, string> = { 1: 'unacceptable protocol version', 2: 'identifier rejected', 3: 'server unavailable', 4: 'bad user name or password', 5: 'not authorized' };
