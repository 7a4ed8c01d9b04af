/**
 * The MQTT enrollment protocol, defined once for both ends (server/enroll and firmware-sim): topic
 * builders, zod schemas of every message, the wire error codes, the exact bytes the chip signs and
 * the canonical bytes of the signed configuration. Human description: server/enroll/PROTOCOL.md.
 *
 * Departure from the first draft (issue 5 brief), on purpose:
 * - The mTLS shortcut `{ type: 'enroll' }` is published on its own topic `.../enroll/mtls`, not on
 *   `.../enroll/req`. The service reads MQTT through a client connection and cannot see which
 *   connection published a message; devices without a client certificate are admitted by client
 *   id. Only the broker ACL can tell the two apart, so it lets a device publish on `enroll/mtls`
 *   only when its *verified certificate* names the serial (aedes hook; Mosquitto `%u` pattern with
 *   use_identity_as_username). A message on that topic is therefore the broker's word.
 * - A response topic given by an MQTT 5 client is honoured only when it is the device's own
 *   `.../enroll/res`; otherwise the server answers there anyway (it never publishes elsewhere).
 * - The embedded broker (aedes 1.x) speaks MQTT 3.1.1 only: devices always put `correlationId` in
 *   the body; MQTT 5 Correlation Data is echoed too when present (Mosquitto).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CHIP_SERIAL_HEX, CHIP_SERIAL_RE } from '../chip-serial.js';

/** Root of every device topic. */
export const TOPIC_ROOT = 'keyline/v1/devices';

/** The context string that starts every signed enrollment digest (ASCII, no terminator). */
export const ENROLL_CONTEXT = 'keyline-enroll-v1';

/** A chip serial on the wire: upper-case hex, 18 digits (ATECC608, 9 bytes) or 36 (SE050 unique id, 18 bytes). */
export const serialSchema = z.string().regex(CHIP_SERIAL_RE, '18 or 36 uppercase hex digits');

/** `keyline/v1/devices/{serial}/enroll/req`: hello and proof (signed challenge). */
export function enrollRequestTopic(serial: string): string {
  return `${TOPIC_ROOT}/${serial}/enroll/req`;
}

/** `keyline/v1/devices/{serial}/enroll/mtls`: the mTLS shortcut, publishable only by a certificate-verified device. */
export function enrollMtlsTopic(serial: string): string {
  return `${TOPIC_ROOT}/${serial}/enroll/mtls`;
}

/** `keyline/v1/devices/{serial}/enroll/res`: every server answer. */
export function enrollResponseTopic(serial: string): string {
  return `${TOPIC_ROOT}/${serial}/enroll/res`;
}

/** `keyline/v1/devices/{serial}/#`: everything one device may use. */
export function deviceTopicFilter(serial: string): string {
  return `${TOPIC_ROOT}/${serial}/#`;
}

/** Which request topic a message arrived on. */
export type RequestChannel = 'req' | 'mtls';

const REQUEST_TOPIC = new RegExp(`^keyline/v1/devices/(${CHIP_SERIAL_HEX})/enroll/(req|mtls)$`);

/** Serial and channel of a request topic, or null for any other topic. */
export function parseRequestTopic(topic: string): { serial: string; channel: RequestChannel } | null {
  const m = REQUEST_TOPIC.exec(topic);
  return m ? { serial: m[1]!, channel: m[2] as RequestChannel } : null;
}

/** The device serial a topic belongs to (first level below TOPIC_ROOT), or null. */
export function topicSerial(topic: string): string | null {
  const m = /^keyline\/v1\/devices\/([^/]+)(\/|$)/.exec(topic);
  return m ? m[1]! : null;
}

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes * 2} lowercase hex digits`);
const base64 = z.string().min(4).max(8192).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64');
/** MQTT 3.1.1 fallback correlation: echoed verbatim in the answer. */
const correlationId = z.string().min(1).max(64).optional();

/** Step 1 of the signed challenge: the device shows its certificate. */
export const helloMessage = z.object({ type: z.literal('hello'), serial: serialSchema, deviceCertificate: base64, correlationId }).strict();
/** Step 2: the chip's signature over enrollmentDigest(); counter is chip counter 0 after increment. */
export const proofMessage = z
  .object({
    type: z.literal('proof'),
    serial: serialSchema,
    nonce: hex(32),
    counter: z.number().int().min(0).max(0xffffffff),
    signature: hex(64),
    correlationId,
  })
  .strict();
/** The mTLS shortcut (topic enroll/mtls only): identity is the broker-verified certificate. */
export const enrollMessage = z.object({ type: z.literal('enroll'), serial: serialSchema, correlationId }).strict();

/** Any device → server message. */
export const enrollRequest = z.discriminatedUnion('type', [helloMessage, proofMessage, enrollMessage]);
/** A parsed hello. */
export type HelloMessage = z.infer<typeof helloMessage>;
/** A parsed proof. */
export type ProofMessage = z.infer<typeof proofMessage>;
/** A parsed mTLS enroll. */
export type EnrollMessage = z.infer<typeof enrollMessage>;
/** Any parsed device request. */
export type EnrollRequest = z.infer<typeof enrollRequest>;

/** Answer to hello: a fresh single-use nonce, valid until expiresAt (ISO 8601 UTC). */
export const challengeMessage = z.object({ type: z.literal('challenge'), serial: serialSchema, nonce: hex(32), expiresAt: z.string(), correlationId }).strict();
/** Success: the device's group and its configuration, signed by the config-signer key. */
export const enrolledMessage = z
  .object({
    type: z.literal('enrolled'),
    serial: serialSchema,
    group: z.string().min(1),
    config: z.record(z.string(), z.unknown()),
    /** base64 DER ECDSA-Sig-Value (RFC 3279 §2.2.3), ECDSA P-256 + SHA-256 over canonicalConfigBytes(config). */
    configSignature: base64,
    /** base64 DER of the config-signer certificate, issued by the issuing CA (verify against the pinned chain). */
    configSignerCertificate: base64,
    /** True when this device had already enrolled (a later boot): no new enrollment record. */
    reenrolled: z.boolean(),
    correlationId,
  })
  .strict();

/** Every refusal code on the wire (UPPER_SNAKE, the same string as in common/errors.ts ERROR_TABLE). */
export const ENROLL_ERROR_CODES = [
  'MALFORMED_MESSAGE', // not JSON, schema violation, body serial ≠ topic serial, wrong message on a topic
  'CERTIFICATE_UNTRUSTED', // deviceCertificate does not chain to this PKI's issuing CA / root
  'UNKNOWN_DEVICE', // no unit record for this serial
  'KEY_MISMATCH', // the certificate's key (or serial) is not the one recorded for this unit
  'UNIT_NOT_CONFIRMED', // the station never confirmed the unit (or it is quarantined)
  'DEVICE_REVOKED', // unit revoked, or its certificate serial is in the revocation list
  'NONCE_INVALID', // unknown, expired, already used, or issued to another device/certificate
  'SIGNATURE_INVALID', // ECDSA signature does not verify with the recorded key
  'REPLAYED', // counter not strictly greater than the last one seen for this device
  'RATE_LIMITED', // too many requests from this device; see retryAfterSeconds
  'INTERNAL', // server-side failure; retry later
] as const;
/** One wire refusal code. */
export type EnrollErrorCode = (typeof ENROLL_ERROR_CODES)[number];

/** A refusal; the device may retry with a new hello unless the code is permanent. */
export const errorMessage = z
  .object({
    type: z.literal('error'),
    code: z.enum(ENROLL_ERROR_CODES),
    message: z.string(),
    retryAfterSeconds: z.number().int().min(1).optional(),
    correlationId,
  })
  .strict();

/** Any server → device message. */
export const enrollResponse = z.discriminatedUnion('type', [challengeMessage, enrolledMessage, errorMessage]);
/** A challenge answer. */
export type ChallengeMessage = z.infer<typeof challengeMessage>;
/** An enrolled answer. */
export type EnrolledMessage = z.infer<typeof enrolledMessage>;
/** A refusal answer. */
export type ErrorMessage = z.infer<typeof errorMessage>;
/** Any server answer. */
export type EnrollResponse = z.infer<typeof enrollResponse>;

/** Largest request body the server reads (bytes); anything longer is MALFORMED_MESSAGE. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

/** Inputs of the signed digest. */
export interface DigestInput {
  /** 32 bytes (the challenge nonce, decoded from hex). */
  nonce: Uint8Array;
  /** Chip counter 0 value after the increment, 0..2^32-1. */
  counter: number;
  /** The chip serial decoded from hex: 9 bytes (ATECC608) or 18 (SE050). */
  serial: Uint8Array;
  /** 32 bytes: SHA-256 of the device certificate DER as sent in hello. */
  certFingerprint: Uint8Array;
}

const CONTEXT_BYTES = Buffer.from(ENROLL_CONTEXT, 'ascii');

/**
 * The bytes hashed: "keyline-enroll-v1"(17) ‖ nonce(32) ‖ counter(4, big-endian) ‖ serial(9 or 18)
 * ‖ certFingerprint(32): 94 bytes for an ATECC608, 103 for an SE050 (the serial as its chip has it).
 */
export function enrollmentSignedBytes(d: DigestInput): Uint8Array {
  if (d.nonce.length !== 32) throw new RangeError(`nonce: expected 32 bytes, got ${d.nonce.length}`);
  if (d.serial.length !== 9 && d.serial.length !== 18) throw new RangeError(`serial: expected 9 or 18 bytes, got ${d.serial.length}`);
  if (d.certFingerprint.length !== 32) throw new RangeError(`certFingerprint: expected 32 bytes, got ${d.certFingerprint.length}`);
  if (!Number.isInteger(d.counter) || d.counter < 0 || d.counter > 0xffffffff) throw new RangeError(`counter: ${d.counter} is not a uint32`);
  // Written in place: no Buffer wrapper and no copy of each input (the server and every device build these).
  const out = new Uint8Array(CONTEXT_BYTES.length + 32 + 4 + d.serial.length + 32);
  out.set(CONTEXT_BYTES, 0);
  let o = CONTEXT_BYTES.length;
  out.set(d.nonce, o);
  o += 32;
  new DataView(out.buffer).setUint32(o, d.counter);
  o += 4;
  out.set(d.serial, o);
  out.set(d.certFingerprint, o + d.serial.length);
  return out;
}

/** SHA-256 of enrollmentSignedBytes(): the 32-byte digest the chip signs with slot 0 (Sign external). */
export function enrollmentDigest(d: DigestInput): Uint8Array {
  return new Uint8Array(createHash('sha256').update(enrollmentSignedBytes(d)).digest());
}

/** SHA-256 of a certificate DER (the certFingerprint input). */
export function certificateFingerprint(der: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(der).digest());
}

/**
 * The canonical JSON text of a configuration (RFC 8785 JCS for the values configs use): object
 * keys sorted by UTF-16 code units, no whitespace, strings and numbers as ECMAScript
 * JSON.stringify writes them. Written by hand because JSON.stringify puts integer-like keys
 * ("9", "10") first regardless of insertion order, which JCS does not.
 */
export function canonicalConfigJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`config: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalConfigJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalConfigJson(v)}`).join(',')}}`;
  }
  throw new RangeError(`config: unsupported value of type ${typeof value}`);
}

/** UTF-8 bytes of canonicalConfigJson(config): what configSignature signs. */
export function canonicalConfigBytes(config: Record<string, unknown>): Uint8Array {
  return new Uint8Array(Buffer.from(canonicalConfigJson(config), 'utf8'));
}

/** Serialises a message as the UTF-8 JSON body of a PUBLISH (a Buffer, which is a Uint8Array: no copy). */
export function encodeMessage(msg: EnrollRequest | EnrollResponse): Uint8Array {
  return Buffer.from(JSON.stringify(msg), 'utf8');
}
