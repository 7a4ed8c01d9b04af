/**
 * The `est` section of keyline.json (issue 17): which labels EST serves, each mapped to a work
 * order and a profile: who may enroll (stations of this PKI, birth certificates of other CAs,
 * HTTP Basic credentials stored hashed), manual approval, key re-use on re-enrollment, and what
 * csrattrs asks for. Secrets (the password hashes) are references, resolved at start-up.
 */
import { z } from 'zod';
import { workOrderId } from '../../common/protocol/station-api.js';

const secretRef = z.union([z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()]);

/** The EST operation names (RFC 7030 §3.2.2): never a label, so a path has one reading. */
export const EST_OPERATIONS = ['cacerts', 'simpleenroll', 'simplereenroll', 'fullcmc', 'serverkeygen', 'csrattrs'] as const;

/** A label: one path segment (RFC 7030 §3.2.2), letters, digits, . _ -, not an operation name. */
export const estLabelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a label is 1-64 of letters, digits, . _ - (starting with a letter or digit)')
  .refine((l) => !(EST_OPERATIONS as readonly string[]).includes(l), 'an EST operation name cannot be a label');

/** One label's profile. */
export const estLabelSchema = z
  .object({
    /** Units enrolled under this label are issued on this work order (its quota, product, registries). */
    workOrder: workOrderId,
    auth: z
      .object({
        /** Stations of this PKI (OU=station) may enroll devices under this label (acting as a registration authority). */
        stations: z.boolean().default(true),
        /** PEM files of other CAs whose certificates (birth certificates) may enroll; paths relative to keyline.json. */
        birthCas: z.array(z.string().min(1)).max(16).default([]),
        /** HTTP Basic credentials for bootstrap: the user name and a scrypt PHC hash (keyline est hash-password), by reference. */
        basic: z.object({ username: z.string().min(1).max(128).regex(/^[^:\u0000-\u001f]+$/, 'no colon or control characters'), passwordHash: secretRef }).strict().optional(),
      })
      .strict()
      .prefault({}),
    /** New enrollments wait (202 + Retry-After) for `keyline est approve`. */
    manualApproval: z.boolean().default(false),
    /** simplereenroll may certify the unit's current key again (RFC 7030 §4.2.2 renewal); default: a new key is required. */
    allowKeyReuse: z.boolean().default(false),
    /** The certificate a re-enrollment supersedes is revoked (reason superseded) in the same transaction. */
    revokeSuperseded: z.boolean().default(true),
    /** Under TLS 1.2 the CSR's challengePassword must hold the connection's tls-unique (RFC 7030 §3.5); csrattrs asks for it. */
    requirePopLinking: z.boolean().default(false),
    /** csrattrs answers the profile's requirements (P-256, ECDSA-SHA256, the subject serial); false = 204. */
    csrattrs: z.boolean().default(true),
    /**
     * Characters per line of base64 answers: 64 suits most clients; 0 sends one line, for clients
     * whose decoder reads a line break as data (strongSwan's pki --est 5.9).
     */
    base64LineLength: z.union([z.literal(0), z.number().int().min(4).max(76).multipleOf(4)]).default(64),
  })
  .strict();

/** The `est` section. */
export const estConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The label of the paths without one (/.well-known/est/simpleenroll); absent: only labelled paths enroll. */
    defaultLabel: estLabelName.optional(),
    /** Seconds a client waiting for approval is told to wait (Retry-After). */
    retryAfterSeconds: z.number().int().min(1).max(86_400).default(60),
    /** The HTTP Basic realm named in WWW-Authenticate. */
    realm: z.string().min(1).max(64).regex(/^[^"\\\u0000-\u001f]+$/, 'no quotes, backslashes or control characters').default('keyline-est'),
    labels: z.record(estLabelName, estLabelSchema),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.defaultLabel !== undefined && !Object.hasOwn(c.labels, c.defaultLabel)) {
      ctx.addIssue({ code: 'custom', path: ['defaultLabel'], message: `'${c.defaultLabel}' is not one of est.labels` });
    }
  });

/** The parsed `est` section. */
export type EstConfig = z.infer<typeof estConfigSchema>;
/** One parsed label. */
export type EstLabelConfig = z.infer<typeof estLabelSchema>;
