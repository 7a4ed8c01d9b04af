/**
 * keyline.json's `awsFleet` and `dps` sections (issue 16): the two cloud device-provisioning
 * endpoints, each an MQTT listener of its own. Absent or `enabled: false`: not started.
 */
import { z } from 'zod';
import { DEFAULT_BROKER_LIMITS, type BrokerLimits } from '../enroll/broker-limits.js';

/** The listener limits (enroll.limits' fields), with this endpoint's defaults. */
function limitsSchema(defaults: BrokerLimits) {
  return z
    .object({
      maxPacketBytes: z.number().int().min(1024).max(268_435_455).default(defaults.maxPacketBytes),
      maxConnections: z.number().int().min(1).max(1_000_000).default(defaults.maxConnections),
      connectTimeoutSeconds: z.number().int().min(1).max(300).default(defaults.connectTimeoutSeconds),
      idleTimeoutSeconds: z.number().int().min(10).max(86_400).default(defaults.idleTimeoutSeconds),
      publishesPerMinute: z.number().int().min(1).max(100_000).default(defaults.publishesPerMinute),
      publishBurst: z.number().int().min(1).max(10_000).default(defaults.publishBurst),
      maxSubscriptions: z.number().int().min(1).max(1000).default(defaults.maxSubscriptions),
      queueLimit: z.number().int().min(1).max(1000).default(defaults.queueLimit),
    })
    .strict()
    .prefault({});
}

const listener = { enabled: z.boolean().default(true), host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(0) };

/** One fleet provisioning template: who may use it and what RegisterThing answers. */
const templateSchema = z
  .object({
    /** Work orders whose units may use the template (absent: any). */
    workOrders: z.array(z.string().min(1)).min(1).optional(),
    /** Products whose units may use it (absent: any). */
    products: z.array(z.string().min(1)).min(1).optional(),
    /** The thing name RegisterThing answers: {serial}, {group}, {workOrder}, {product} and {parameters.NAME} are replaced. */
    thingName: z.string().min(1).max(128).default('{serial}'),
    /** Revoke the certificate the new one supersedes (reason superseded) when RegisterThing activates it. */
    revokeSuperseded: z.boolean().default(true),
    /** AWS's pre-provisioning hook: POSTed AWS's payload, answers {allowProvisioning, parameterOverrides} within the budget. */
    preProvisioningHook: z.object({ url: z.url(), timeoutMs: z.number().int().min(100).max(5000).default(5000) }).strict().optional(),
  })
  .strict();

/** The `awsFleet` section. */
export const awsFleetConfigSchema = z
  .object({
    ...listener,
    /** certificateOwnershipToken lifetime: AWS's is one hour. */
    tokenTtlSeconds: z.number().int().min(10).max(3600).default(3600),
    /** Whether CreateCertificateFromCsr may certify the device's current key again (the chip's own key; else only a second chip key). */
    allowKeyReuse: z.boolean().default(true),
    /** Requests per device per minute (CreateCertificateFromCsr and RegisterThing together). */
    rateLimitPerMinute: z.number().int().min(1).max(100_000).default(30),
    templates: z.record(z.string().regex(/^[0-9A-Za-z_-]{1,36}$/, 'a template name is 1-36 of 0-9 A-Z a-z _ -'), templateSchema).default({}),
    // The SDK subscribes twice per API (accepted, rejected), for three APIs in two formats at most.
    limits: limitsSchema({ ...DEFAULT_BROKER_LIMITS, maxSubscriptions: 12 }),
  })
  .strict();

/** How a device whose group changed is treated when it registers again (DPS reprovisionPolicy). */
export const REPROVISION_POLICIES = ['migrate', 'reset', 'never'] as const;

/** The `dps` section. */
export const dpsConfigSchema = z
  .object({
    ...listener,
    /** The ID scope devices name in their CONNECT username; any other is refused (CONNACK 5). */
    idScope: z.string().regex(/^[0-9A-Za-z]{1,64}$/, 'an ID scope is 1-64 letters and digits'),
    /** The IoT hub a device is assigned to unless its group names another. */
    assignedHub: z.string().min(1).max(255),
    /** Per enrollment group (enroll.groups' names): its hub and reprovisioning policy. */
    groups: z.record(z.string(), z.object({ assignedHub: z.string().min(1).max(255).optional(), reprovision: z.enum(REPROVISION_POLICIES).default('migrate') }).strict()).default({}),
    /** retry-after of the 202 `assigning` answers, in seconds (DPS answers 3; 0 = poll at once). */
    pollAfterSeconds: z.number().int().min(0).max(60).default(1),
    throttle: z
      .object({
        registrationsPerMinute: z.number().int().min(1).max(10_000_000).default(60_000),
        registrationBurst: z.number().int().min(1).max(1_000_000).default(1000),
        /** DPS allows 5 polls per 10 s per device. */
        pollsPerTenSeconds: z.number().int().min(1).max(1000).default(5),
      })
      .strict()
      .prefault({}),
    limits: limitsSchema({ ...DEFAULT_BROKER_LIMITS, maxSubscriptions: 2 }),
  })
  .strict();

/** The parsed `awsFleet` section. */
export type AwsFleetConfig = z.infer<typeof awsFleetConfigSchema>;
/** One parsed template. */
export type FleetTemplateConfig = z.infer<typeof templateSchema>;
/** The parsed `dps` section. */
export type DpsConfig = z.infer<typeof dpsConfigSchema>;
