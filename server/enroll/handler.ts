/**
 * The wire boundary of enrollment: one request PUBLISH in, one answer on the device's
 * `enroll/res` topic out. Parses with the shared zod schemas, applies the per-device rate limit,
 * calls the service, and maps errors through ERROR_TABLE (the only reader here) to the wire codes;
 * each refusal is logged once, with its cause.
 */
import { ERROR_TABLE, KeylineError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import {
  MAX_MESSAGE_BYTES, encodeMessage, enrollMessage, enrollRequest, enrollResponseTopic, parseRequestTopic,
  type EnrollErrorCode, type EnrollRequest, type EnrollResponse, type RequestChannel,
} from '../../common/protocol/enrollment.js';
import type { Broker, MessageHandler } from './broker.js';
import type { EnrollmentService } from './enrollment-service.js';
import type { DeviceRequestLimiter } from './device-request-limiter.js';
import { requestIfWellFormed } from './request-shape.js';

/** What the handler needs. */
export interface EnrollHandlerDeps {
  broker: Broker;
  service: EnrollmentService;
  limiter: DeviceRequestLimiter;
  log?: Logger;
}

/** The wire code and public message of any error (unexposed ones become INTERNAL, message withheld). */
export function toWireError(err: unknown): { code: EnrollErrorCode; message: string } {
  if (err instanceof KeylineError && ERROR_TABLE[err.code].expose) return { code: ERROR_TABLE[err.code].mqtt, message: err.message };
  return { code: 'INTERNAL', message: 'internal error; retry later' };
}

/** A MessageHandler for the request topics `+/enroll/req` and `+/enroll/mtls`. */
export function createEnrollHandler(d: EnrollHandlerDeps): MessageHandler {
  return (topic, payload, props) => {
    const where = parseRequestTopic(topic);
    if (!where) return; // not ours (the subscriptions should make this unreachable)
    const { serial, channel } = where;
    let correlationId: string | undefined;
    const reply = (msg: EnrollResponse) =>
      d.broker.publish(enrollResponseTopic(serial), encodeMessage(correlationId === undefined ? msg : { ...msg, correlationId }), 1,
        props.correlationData ? { correlationData: props.correlationData } : {});

    const run = async (): Promise<EnrollResponse> => {
      if (payload.length > MAX_MESSAGE_BYTES) throw new KeylineError('MALFORMED_MESSAGE', `message: ${payload.length} bytes, more than ${MAX_MESSAGE_BYTES}`);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
      } catch {
        throw new KeylineError('MALFORMED_MESSAGE', 'message: not JSON');
      }
      // Echo the correlation id even when the rest is malformed, so the device can match the refusal.
      const cid = (body as { correlationId?: unknown } | null)?.correlationId;
      if (typeof cid === 'string' && cid.length >= 1 && cid.length <= 64) correlationId = cid;
      // The mTLS topic has its own budget: only a broker-verified certificate publishes there, so
      // a connection known only by client id (a squatter on the serial) can never spend it.
      const wait = d.limiter.take(channel === 'mtls' ? `${serial}/mtls` : serial);
      if (wait > 0) throw new KeylineError('RATE_LIMITED', `device ${serial}: too many requests`, { detail: { retryAfterSeconds: wait } });
      const msg = requestIfWellFormed(body, channel) ?? parseWithSchema(body, channel);
      if (msg.serial !== serial) throw new KeylineError('MALFORMED_MESSAGE', `serial: '${msg.serial}' is not the topic's serial ${serial}`);
      switch (msg.type) {
        case 'hello': {
          const c = await d.service.hello(serial, Buffer.from(msg.deviceCertificate, 'base64'));
          return { type: 'challenge', serial, nonce: c.nonce, expiresAt: c.expiresAt };
        }
        case 'proof':
          return d.service.proof(serial, msg);
        case 'enroll':
          // Only the mTLS topic carries the broker's word on identity (see common/protocol/enrollment.ts).
          if (channel !== 'mtls') throw new KeylineError('MALFORMED_MESSAGE', `type: 'enroll' is accepted only on ${topic.replace(/req$/, 'mtls')}`);
          return d.service.enrollVerified(serial);
      }
    };

    run()
      .then(
        (res) => {
          d.log?.info({ serial, type: res.type, ...(res.type === 'enrolled' ? { group: res.group, reenrolled: res.reenrolled } : {}) }, 'enroll answer');
          return reply(res);
        },
        (err: unknown) => {
          const wire = toWireError(err);
          const level = wire.code === 'INTERNAL' ? 'error' : 'info';
          d.log?.[level]({ serial, code: wire.code, err }, 'enroll refused');
          const retry = err instanceof KeylineError && typeof err.detail?.retryAfterSeconds === 'number' ? { retryAfterSeconds: err.detail.retryAfterSeconds } : {};
          return reply({ type: 'error', ...wire, ...retry });
        },
      )
      .catch((err: unknown) => d.log?.error({ serial, err }, 'enroll reply could not be published'));
  };
}

/** The request per the shared zod schema (the topic's: enroll/mtls takes `enroll` only); MALFORMED_MESSAGE names the first issue. */
function parseWithSchema(body: unknown, channel: RequestChannel): EnrollRequest {
  const parsed = (channel === 'mtls' ? enrollMessage : enrollRequest).safeParse(body);
  if (parsed.success) return parsed.data;
  const i = parsed.error.issues[0]!;
  throw new KeylineError('MALFORMED_MESSAGE', `${i.path.join('.') || 'message'}: ${i.message}`);
}
