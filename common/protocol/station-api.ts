/**
 * The station API's messages, defined once as zod schemas: the server validates requests with
 * them, the station client builds and checks responses with them, and /v1/openapi.json is
 * generated from them.
 */
import { z } from 'zod';
import { CHIP_KINDS, CHIP_SERIAL_ANY_CASE_RE, CHIP_SERIAL_MESSAGE } from '../chip-serial.js';
import { keyOriginEvidence, type KeyOriginEvidence } from './key-origin.js';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (1-64, starting with a letter or digit)');

/** A work order or station id. */
export const workOrderId = id;

/**
 * A chip serial: the ATECC608's 9 bytes as 18 hex digits (datasheet §2.2, SN[0:8]) or the SE050's
 * 18-byte unique id as 36 (common/chip-serial.ts), normalised to upper case. Which of the two a
 * unit must have is its work order's chip, checked by the issuance rules. Branded: a `ChipSerial`
 * exists only as the output of this schema, so code that takes one never checks it again.
 */
export const chipSerial = z
  .string()
  .regex(CHIP_SERIAL_ANY_CASE_RE, CHIP_SERIAL_MESSAGE)
  .transform((s) => s.toUpperCase())
  .brand<'ChipSerial'>();
export type ChipSerial = z.output<typeof chipSerial>;

/** A registry name as keyline.json's `registries` keys are ('self' is Keyline's own). */
export const registryName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a registry name: 1-64 of a-z 0-9 -');

/** When a unit counts as complete at the station (see POST /v1/units/:serial/confirm). */
export const preregistrationPolicy = z.enum(['confirmed', 'queued']);

/** POST /v1/work-orders */
export const workOrderCreate = z
  .object({
    id,
    product: z.string().min(1).max(64).regex(/^[^\u0000-\u001f]+$/, 'printable text'),
    quota: z.number().int().min(1).max(100_000_000),
    stations: z.array(id).max(1000).optional(),
    /** Registries every unit must reach (default ['self']); each must be configured on the server. */
    registries: z.array(registryName).min(1).max(16)
      .refine((r) => new Set(r).size === r.length, 'each registry at most once').optional(),
    /** 'confirmed' (default): confirm waits until every registry has the unit; 'queued': once its jobs are queued. */
    preregistration: preregistrationPolicy.optional(),
    /** The secure element the product carries (default 'atecc608'): its units' serials and certificate profile. */
    chip: z.enum(CHIP_KINDS).optional(),
    /** Refuse units without valid manufacturer-signed key-origin evidence (ATTESTATION_INVALID); default false. */
    requireAttestation: z.boolean().optional(),
  })
  .strict();
export type WorkOrderCreate = z.infer<typeof workOrderCreate>;

/** PATCH /v1/work-orders/:id: a new quota (not below what was issued) and/or station list (null = any station). */
export const workOrderUpdate = z
  .object({
    quota: workOrderCreate.shape.quota.optional(),
    stations: z.array(id).max(1000).nullable().optional(),
  })
  .strict()
  .refine((p) => p.quota !== undefined || p.stations !== undefined, { message: 'give quota and/or stations' });
export type WorkOrderUpdate = z.infer<typeof workOrderUpdate>;

/** A work order with its issued count. */
export const workOrderView = z.object({
  id: z.string(),
  product: z.string(),
  quota: z.number().int(),
  issued: z.number().int(),
  remaining: z.number().int(),
  stations: z.array(z.string()).nullable(),
  status: z.enum(['open', 'closed']),
  createdAt: z.string(),
  registries: z.array(z.string()),
  preregistration: preregistrationPolicy,
  /** Absent from servers before issue 15: 'atecc608'. */
  chip: z.enum(CHIP_KINDS).optional(),
  requireAttestation: z.boolean().optional(),
});
export type WorkOrderView = z.infer<typeof workOrderView>;

/** GET /v1/work-orders */
export const workOrderList = z.object({ workOrders: z.array(workOrderView) });

/**
 * POST /v1/units: the chip's public key (raw X‖Y hex or SPKI base64) or a PKCS#10 CSR in PEM, and
 * optionally the chip's key-origin evidence (common/protocol/key-origin.ts).
 * Parsing yields the typed request the provisioning service takes: the serial checked and
 * normalised, exactly one key form, no optional fields left to interpret.
 */
export const unitIssueRequest = z
  .object({
    serial: chipSerial,
    publicKey: z.string().min(1).max(4096).optional(),
    csr: z.string().min(1).max(16384).optional(),
    workOrder: id,
    idempotencyKey: z.string().min(1).max(128).optional(),
    attestation: keyOriginEvidence.optional(),
  })
  .strict()
  .refine((r) => (r.publicKey === undefined) !== (r.csr === undefined), { message: 'give exactly one of publicKey or csr', path: ['publicKey'] })
  .transform((r): UnitIssueRequest => ({
    serial: r.serial, workOrder: r.workOrder, idempotencyKey: r.idempotencyKey ?? null,
    key: r.publicKey !== undefined ? { publicKey: r.publicKey } : { csr: r.csr! },
    attestation: r.attestation ?? null,
  }));
/** A unit to issue, as the station API's schema leaves it. */
export interface UnitIssueRequest {
  serial: ChipSerial;
  workOrder: string;
  idempotencyKey: string | null;
  /** Raw X‖Y hex or SPKI base64 DER, or a CSR in PEM. */
  key: { publicKey: string } | { csr: string };
  /** The chip's key-origin evidence; null or absent when the caller sent none. */
  attestation?: KeyOriginEvidence | null;
}
/** The request a station sends (the schema's input). */
export type UnitIssueBody = z.input<typeof unitIssueRequest>;

/** The 201 answer to POST /v1/units. */
export const unitIssued = z.object({
  serial: z.string(),
  certificatePem: z.string(),
  chainPem: z.string(),
  fingerprintSha256: z.string(),
  certificateSerial: z.string(),
});
export type UnitIssued = z.infer<typeof unitIssued>;

/** POST /v1/units:batch */
export const unitBatchRequest = z.object({ units: z.array(z.unknown()).min(1).max(100) }).strict();

/** The error body every refusal carries. */
export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), detail: z.record(z.string(), z.unknown()).optional() }),
});
export type ErrorBody = z.infer<typeof errorBody>;

/**
 * One result of a batch: the issued unit or its error. The chain is given once, beside the
 * results; a unit signed by another issuing CA (a replay from before a CA rotation) carries its own.
 */
export const unitBatchResult = z.union([
  unitIssued.omit({ chainPem: true }).extend({ ok: z.literal(true), chainPem: z.string().optional() }),
  z.object({ ok: z.literal(false), serial: z.string().optional(), error: errorBody.shape.error }),
]);
/** The answer to POST /v1/units:batch: one result per unit, in order, and the chain once. */
export const unitBatchResponse = z.object({ chainPem: z.string(), results: z.array(unitBatchResult) });
export type UnitBatchResponse = z.infer<typeof unitBatchResponse>;

/** POST /v1/units/:serial/confirm: the station proves it wrote and verified this certificate. */
export const unitConfirm = z.object({ fingerprintSha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits') }).strict();

/** POST /v1/units/:serial/quarantine */
export const unitQuarantine = z.object({ reason: z.string().min(1).max(500) }).strict();

/** POST /v1/units/:serial/release (security officer): why the unit may return to service. */
export const unitRelease = unitQuarantine;

/** A unit record as the API shows it. */
export const unitView = z.object({
  serial: z.string(),
  publicKey: z.string(),
  fingerprintSha256: z.string(),
  certificateSerial: z.string(),
  workOrder: z.string(),
  station: z.string(),
  status: z.enum(['issued', 'confirmed', 'quarantined', 'revoked']),
  issuedAt: z.string(),
  confirmedAt: z.string().nullable(),
  certificatePem: z.string().optional(),
  /** GET /v1/units/:serial: what the unit's key-origin evidence established (absent when its station sent none). */
  keyOrigin: z.object({
    chip: z.enum(CHIP_KINDS),
    format: z.string(),
    status: z.enum(['verified', 'invalid', 'unattested']),
    reason: z.string().nullable(),
  }).optional(),
});
export type UnitView = z.infer<typeof unitView>;

/** Where one of a unit's registrations stands. */
export const registrationState = z.object({
  registry: z.string(),
  /** 'awaiting-connection': a CA-level mode (AWS JITP, DPS enrollment group) covers it until first connection. */
  state: z.enum(['registered', 'awaiting-connection', 'queued', 'parked']),
  externalId: z.string().optional(),
  error: z.string().optional(),
});
export type RegistrationState = z.infer<typeof registrationState>;

/**
 * The answer to POST /v1/units/:serial/confirm: the unit, its registrations, and whether it is
 * complete under its work order's policy (REGISTRATION_PENDING / REGISTRY_REJECTED otherwise).
 */
export const unitConfirmed = unitView.extend({
  registrations: z.array(registrationState),
  complete: z.boolean(),
});
export type UnitConfirmed = z.infer<typeof unitConfirmed>;

/** GET /v1/units query. */
export const unitListQuery = z
  .object({
    workOrder: id.optional(),
    status: z.enum(['issued', 'confirmed', 'quarantined', 'revoked']).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();
export const unitListResponse = z.object({ units: z.array(unitView), nextCursor: z.string().nullable() });
