/**
 * The config section of an AWS IoT registry (`registries.<name>` with `type: 'aws-iot'` in
 * keyline.json). Three modes (reference cloud-provisioning.md §1, §2):
 * - 'multi-account' (default): RegisterCertificateWithoutCA per unit; no CA registration, the
 *   device must send SNI with the account's endpoint host (§2.1);
 * - 'registered-ca': RegisterCertificate per unit with `caCertificatePem` (the issuing CA must be
 *   registered in the account, §2.2);
 * - 'jitp': the issuing CA registered once with a provisioning template (`keyline registry setup`);
 *   AWS creates each thing at the device's first connection and the outbox only confirms it (§1).
 */
import { z } from 'zod';

const secretRef = z.union([z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()]);

/** AWS IoT thing names: 1–128 of `[a-zA-Z0-9:_-]` (CreateThing API). */
const thingNameChars = /^[a-zA-Z0-9:_-]*$/;

/** Thing attributes keyline itself sets on every thing (they win over `attributes`). */
export const RESERVED_ATTRIBUTES = ['serial', 'workOrder'];

/** Schema of one `registries.<name>` section of type 'aws-iot'. */
export const awsIotRegistryConfig = z
  .object({
    type: z.literal('aws-iot'),
    region: z.string().min(1),
    /** The control-plane URL instead of iot.<region>.amazonaws.com (tests, VPC endpoints). */
    endpoint: z.url().optional(),
    /** Static access keys by reference; absent = the SDK's default provider chain (env, profile, IMDS). */
    credentials: z.object({ accessKeyId: secretRef, secretAccessKey: secretRef }).strict().optional(),
    mode: z.enum(['multi-account', 'registered-ca', 'jitp']).default('multi-account'),
    /** The IoT policy attached to every certificate (none attached when absent). */
    policyName: z.string().min(1).max(128).optional(),
    /** A thing group every thing is added to. */
    thingGroup: z.string().min(1).max(128).optional(),
    thingTypeName: z.string().min(1).max(128).optional(),
    /** Thing name = prefix + chip serial (18 hex digits). */
    thingNamePrefix: z.string().max(100).regex(thingNameChars, 'letters, digits and : _ - only').default(''),
    /** Extra thing attributes (AWS allows 50 per thing; keyline adds serial and workOrder). */
    attributes: z.record(z.string(), z.string()).optional(),
    /** RegisterCertificateWithoutCA admits 10 TPS by default (reference §8). */
    maxPerSecond: z.number().positive().default(10),
    /** A call not answered within this time counts as unavailable (the outbox retries it). */
    requestTimeoutMs: z.number().int().positive().default(10_000),
    /** The status UpdateCertificate sets when a unit is revoked. */
    revokeAs: z.enum(['REVOKED', 'INACTIVE']).default('REVOKED'),
    /** 'jitp' mode: what `keyline registry setup` attaches to the CA (templateBody or templateName). */
    jitp: z
      .object({
        /** An inline JITP template (JSON text); Keyline's default template when neither is given. */
        templateBody: z.string().min(1).max(10240).optional(),
        /** A provisioning template of type JITP created beforehand (CreateProvisioningTemplate). */
        templateName: z.string().regex(/^[0-9A-Za-z_-]{1,36}$/, '1-36 of [0-9A-Za-z_-]').optional(),
        /** The role AWS assumes to run the template (with AWSIoTThingsRegistration). */
        roleArn: z.string().min(20),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // A thing without a thing type holds at most 3 attributes (AWS IoT thing-types docs); keyline adds 2.
    const extra = Object.keys(cfg.attributes ?? {}).filter((k) => !RESERVED_ATTRIBUTES.includes(k)).length;
    if (!cfg.thingTypeName && extra > 1) {
      ctx.addIssue({ code: 'custom', path: ['attributes'], message: `a thing without thingTypeName holds 3 attributes; keyline sets ${RESERVED_ATTRIBUTES.join(', ')}, so at most 1 more (got ${extra})` });
    }
    if (cfg.jitp?.templateBody && cfg.jitp.templateName) {
      ctx.addIssue({ code: 'custom', path: ['jitp', 'templateName'], message: 'give templateBody or templateName, not both' });
    }
  });

/** A validated 'aws-iot' registry section. */
export type AwsIotRegistryConfig = z.infer<typeof awsIotRegistryConfig>;
