/**
 * The device's fast path for the shape of a server answer: the rules of the zod schemas in
 * common/protocol/enrollment.ts (challengeMessage, enrolledMessage, errorMessage, all strict)
 * written out for the answers a server normally sends, as the server's request-shape.ts does for
 * requests. zod cost the simulated devices more than the JSON.parse before it (bench:enroll
 * profile, issue 13). It only ever accepts, never refuses: for anything it does not accept it
 * returns null and zod decides, so every refusal comes from the schemas.
 * test/firmware-sim/response-shape.test.ts holds the two to the same answers.
 */
import { CHIP_SERIAL_RE as SERIAL } from '../common/chip-serial.js';
import { ENROLL_ERROR_CODES, type EnrollResponse } from '../common/protocol/enrollment.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const NONCE = /^[0-9a-f]{64}$/;
const ERROR_CODES: ReadonlySet<string> = new Set(ENROLL_ERROR_CODES);

const FIELDS = new Map<string, ReadonlySet<string>>([
  ['challenge', new Set(['type', 'serial', 'nonce', 'expiresAt', 'correlationId'])],
  ['enrolled', new Set(['type', 'serial', 'group', 'config', 'configSignature', 'configSignerCertificate', 'reenrolled', 'correlationId'])],
  ['error', new Set(['type', 'code', 'message', 'retryAfterSeconds', 'correlationId'])],
]);

const str = (v: unknown): v is string => typeof v === 'string';
const base64 = (v: unknown) => str(v) && v.length >= 4 && v.length <= 8192 && BASE64.test(v);
/** A plain JSON object whose keys zod's record copies as they are (no own `__proto__`). */
const plainObject = (v: unknown) => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && !Object.hasOwn(v, '__proto__');

/** `body` as the answer it is when it certainly passes enrollResponse; null to let zod decide. */
export function responseIfWellFormed(body: unknown): EnrollResponse | null {
  if (!plainObject(body)) return null;
  const m = body as Record<string, unknown>;
  const allowed = str(m.type) ? FIELDS.get(m.type) : undefined;
  if (!allowed) return null;
  for (const k of Object.keys(m)) if (!allowed.has(k)) return null;
  const cid = m.correlationId;
  if (cid !== undefined && !(str(cid) && cid.length >= 1 && cid.length <= 64)) return null;
  switch (m.type) {
    case 'challenge':
      if (!str(m.serial) || !SERIAL.test(m.serial) || !str(m.nonce) || !NONCE.test(m.nonce) || !str(m.expiresAt)) return null;
      break;
    case 'enrolled':
      if (!str(m.serial) || !SERIAL.test(m.serial) || !str(m.group) || m.group.length < 1 || !plainObject(m.config)) return null;
      if (!base64(m.configSignature) || !base64(m.configSignerCertificate) || typeof m.reenrolled !== 'boolean') return null;
      break;
    default: {
      const r = m.retryAfterSeconds;
      if (!str(m.code) || !ERROR_CODES.has(m.code) || !str(m.message)) return null;
      if (r !== undefined && !(Number.isSafeInteger(r) && (r as number) >= 1)) return null;
    }
  }
  return m as EnrollResponse;
}
