/**
 * The handler's fast path for the shape of a request: the exact rules of the zod schemas in
 * common/protocol/enrollment.ts (helloMessage, proofMessage, enrollMessage, all strict), written
 * out for the bodies a device normally sends, since zod costs several times the JSON.parse it
 * follows (~30 µs a message in bench:enroll). It only ever accepts: for anything it does not
 * accept it returns null and zod decides, so every refusal and its message come from the schemas.
 * test/server/enroll/request-shape.test.ts holds the two to the same answers.
 */
import { CHIP_SERIAL_RE as SERIAL } from '../../common/chip-serial.js';
import type { EnrollRequest, RequestChannel } from '../../common/protocol/enrollment.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const NONCE = /^[0-9a-f]{64}$/;
const SIGNATURE = /^[0-9a-f]{128}$/;

const FIELDS = new Map<string, ReadonlySet<string>>([
  ['hello', new Set(['type', 'serial', 'deviceCertificate', 'correlationId'])],
  ['proof', new Set(['type', 'serial', 'nonce', 'counter', 'signature', 'correlationId'])],
  ['enroll', new Set(['type', 'serial', 'correlationId'])],
]);

const str = (v: unknown): v is string => typeof v === 'string';

/** `body` as the request it is when it certainly passes the schema for `channel`; null to let zod decide. */
export function requestIfWellFormed(body: unknown, channel: RequestChannel): EnrollRequest | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const m = body as Record<string, unknown>;
  const type = m.type;
  // The mTLS topic takes only `enroll` (enrollMessage); the request topic the union of the three.
  const allowed = str(type) ? FIELDS.get(type) : undefined;
  if (!allowed || (channel === 'mtls' && type !== 'enroll')) return null;
  for (const k of Object.keys(m)) if (!allowed.has(k)) return null;
  if (!str(m.serial) || !SERIAL.test(m.serial)) return null;
  const cid = m.correlationId;
  if (cid !== undefined && !(str(cid) && cid.length >= 1 && cid.length <= 64)) return null;
  if (type === 'hello') {
    const c = m.deviceCertificate;
    if (!str(c) || c.length < 4 || c.length > 8192 || !BASE64.test(c)) return null;
  } else if (type === 'proof') {
    const n = m.counter;
    if (!str(m.nonce) || !NONCE.test(m.nonce) || !str(m.signature) || !SIGNATURE.test(m.signature)) return null;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) return null;
  }
  return m as EnrollRequest;
}
