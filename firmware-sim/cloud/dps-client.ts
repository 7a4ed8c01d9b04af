/**
 * Azure DPS's MQTT device registration from the device side, on the `mqtt` package
 * (../shared/reference/cloud-provisioning.md §4): client id = registrationId = the certificate's
 * CN, the ID scope in the username, `$dps/registrations/res/#` subscribed, then register → 202
 * `assigning` → poll with the operation id after retry-after → 200 `assigned`. As the official
 * clients: a status below 300 is driven by the body's `status`, 429 and every 5xx are waited out
 * and the same step repeated, 300-428 are refusals; each answer is matched by its `$rid`.
 */
import { randomUUID } from 'node:crypto';
import { KeylineError, type ErrorCode } from '../../common/errors.js';
import { CloudRefusedError, keylineCodeIn } from './cloud-errors.js';
import { CloudLink, type CloudLinkOptions } from './cloud-mqtt.js';

/** The API version both official clients send. */
export const DPS_API_VERSION = '2019-03-31';
/** DPS answers every request within 30 s; the clients wait that long. */
const ANSWER_MS = 30_000;
/** The clients' poll interval when an answer names no retry-after. */
const DEFAULT_POLL_MS = 2000;

/** `registrationState` of an assigned device (the fields a device reads). */
export interface RegistrationState {
  registrationId: string;
  deviceId: string;
  assignedHub: string;
  status: 'assigned';
  substatus?: string;
  payload?: unknown;
  [key: string]: unknown;
}

/** What a registration needs beyond the link. */
export interface DpsRegisterOptions extends Omit<CloudLinkOptions, 'clientId' | 'username'> {
  idScope: string;
  registrationId: string;
  /** Sent as the registration's `payload` (echoed back by Keyline in registrationState.payload.devicePayload). */
  payload?: unknown;
  /** How long the whole registration may take, waits included (default 120 s). */
  deadlineMs?: number;
  /** Called with each wait the service asked for (ms), e.g. to count polls. */
  onWait?: (ms: number, why: 'assigning' | 'throttled') => void;
}

/** DPS statuses 300-428 as the nearest Keyline code, when the message carries none. */
const BY_STATUS: Record<number, ErrorCode> = { 400: 'VALIDATION_FAILED', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'UNKNOWN_DEVICE' };

/** Registers the device and resolves with its assignment; refusals throw CloudRefusedError. */
export async function dpsRegister(o: DpsRegisterOptions): Promise<{ state: RegistrationState; polls: number; connectMs: number }> {
  const t0 = performance.now();
  // Further `&` parameters are allowed after api-version; the SDKs send ClientVersion.
  const username = `${o.idScope}/registrations/${o.registrationId}/api-version=${DPS_API_VERSION}&ClientVersion=${encodeURIComponent('keyline-firmware-sim/1')}`;
  const link = await CloudLink.connect('dps', { ...o, clientId: o.registrationId, username });
  const connectMs = performance.now() - t0;
  try {
    await link.subscribe(['$dps/registrations/res/#']);
    const deadline = Date.now() + (o.deadlineMs ?? 120_000);
    let operationId: string | undefined;
    let polls = 0;
    for (;;) {
      if (Date.now() > deadline) throw new KeylineError('ENROLLMENT_TIMEOUT', `DPS registration of ${o.registrationId} not assigned within ${o.deadlineMs ?? 120_000} ms`);
      const rid = randomUUID();
      const [topic, body, what] = operationId
        ? [`$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${rid}&operationId=${encodeURIComponent(operationId)}`, ' ', 'operation status']
        : [`$dps/registrations/PUT/iotdps-register/?$rid=${rid}`, JSON.stringify({ registrationId: o.registrationId, ...(o.payload === undefined ? {} : { payload: o.payload }) }), 'register'];
      if (operationId) polls++;
      const reply = parseReply(await link.request(topic, body, (t) => replyRid(t) === rid, what, ANSWER_MS));
      if (reply.status >= 429) {
        const wait = reply.retryAfterMs ?? DEFAULT_POLL_MS;
        o.onWait?.(wait, 'throttled');
        await sleep(wait);
        continue;
      }
      if (reply.status >= 300) {
        const message = String(reply.body.message ?? '');
        const code = keylineCodeIn(message) ?? BY_STATUS[reply.status] ?? 'ENROLLMENT_REJECTED';
        throw new CloudRefusedError('dps', code, `${what}: ${reply.status} ${String(reply.body.errorCode)}: ${message}`, { wire: { status: reply.status, errorCode: reply.body.errorCode, message } });
      }
      const status = reply.body.status;
      const state = reply.body.registrationState as Record<string, unknown> | undefined;
      if (status === 'assigned') {
        if (!state || typeof state.assignedHub !== 'string' || typeof state.deviceId !== 'string') throw new KeylineError('BAD_SERVER_RESPONSE', 'DPS assigned without assignedHub and deviceId');
        return { state: state as RegistrationState, polls, connectMs };
      }
      if (status === 'failed' || status === 'disabled') {
        const message = String(state?.errorMessage ?? '');
        const code = keylineCodeIn(message) ?? (status === 'disabled' ? 'DEVICE_REVOKED' : 'ENROLLMENT_REJECTED');
        throw new CloudRefusedError('dps', code, `registration ${status}: ${String(state?.errorCode)}: ${message}`, { wire: { status, errorCode: state?.errorCode, errorMessage: message } });
      }
      if (status !== 'assigning' && status !== 'registering') throw new KeylineError('BAD_SERVER_RESPONSE', `DPS answered status '${String(status)}'`);
      // `registering` starts over; `assigning` is polled with its operation id.
      if (status === 'assigning') {
        if (typeof reply.body.operationId !== 'string') throw new KeylineError('BAD_SERVER_RESPONSE', 'DPS answered assigning without an operationId');
        operationId = reply.body.operationId;
      }
      const wait = reply.retryAfterMs ?? DEFAULT_POLL_MS;
      o.onWait?.(wait, 'assigning');
      await sleep(wait);
    }
  } finally {
    await link.close();
  }
}

/** The `$rid` of a reply topic `$dps/registrations/res/{status}/?{query}`, or null. */
function replyRid(topic: string): string | null {
  const m = /^\$dps\/registrations\/res\/\d{3}\/\?(.*)$/.exec(topic);
  return m ? new URLSearchParams(m[1]).get('$rid') : null;
}

/** A reply's status (from its topic), JSON body and retry-after (seconds on the wire). */
function parseReply(r: { topic: string; payload: Buffer }): { status: number; body: Record<string, unknown>; retryAfterMs?: number } {
  const m = /^\$dps\/registrations\/res\/(\d{3})\/\?(.*)$/.exec(r.topic)!;
  const retry = new URLSearchParams(m[2]).get('retry-after');
  let body: unknown;
  try {
    body = JSON.parse(r.payload.toString('utf8'));
  } catch (err) {
    throw new KeylineError('BAD_SERVER_RESPONSE', `DPS answer on ${r.topic} is not JSON`, { cause: err });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new KeylineError('BAD_SERVER_RESPONSE', `DPS answer on ${r.topic} is not an object`);
  const seconds = retry === null ? NaN : Number(retry);
  return { status: Number(m[1]), body: body as Record<string, unknown>, ...(Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {}) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
