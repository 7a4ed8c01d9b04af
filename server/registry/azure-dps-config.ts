/**
 * The config section of an Azure Device Provisioning Service registry (`registries.<name>` with
 * `type: 'azure-dps'` in keyline.json). Two modes:
 * - 'individual': every unit gets an X.509 individual enrollment keyed by its device certificate
 *   before it ships (one DPS operation per unit, throttled by the outbox);
 * - 'enrollment-group': one group on the issuing CA, created once by `keyline registry setup`;
 *   units register themselves at first connection and the outbox only confirms that.
 */
import { z } from 'zod';
import { VERIFICATION_CODE } from '../ca/verification-certificate.js';

const secretRef = z.union([z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()]);

/** DPS registration and enrollment-group ids: alphanumerics and `- . _ :` (DPS concepts-service). */
const dpsId = z.string().min(1).max(128).regex(/^[A-Za-z0-9\-._:]+$/, 'alphanumerics and - . _ : only');

/** Schema of one `registries.<name>` section of type 'azure-dps'. */
export const azureDpsRegistryConfig = z
  .object({
    type: z.literal('azure-dps'),
    /**
     * The DPS service connection string of a shared access policy with enrollment write rights
     * (`HostName=x.azure-devices-provisioning.net;SharedAccessKeyName=...;SharedAccessKey=...`),
     * given by reference: it is a secret.
     */
    connectionString: secretRef,
    /**
     * Where to reach the service API instead of HostName on 443 (tests and private endpoints):
     * the HTTP layer of azure-iot-provisioning-service takes the port per request and the CA via
     * Http.setOptions (reference cloud-provisioning.md §5.2). `ca` is a PEM file path.
     */
    endpoint: z
      .object({
        host: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        ca: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** A service call that has not answered in this time counts as REGISTRY_UNAVAILABLE (the SDK sets none). */
    timeoutMs: z.number().int().positive().default(30_000),
    mode: z.enum(['individual', 'enrollment-group']).default('individual'),
    /** For allocationPolicy 'static': the one hub devices go to. */
    iotHubHostName: z.string().min(1).optional(),
    allocationPolicy: z.enum(['hashed', 'geoLatency', 'static', 'custom']).optional(),
    /** Linked hubs the allocation chooses from (host names); all linked hubs when absent. */
    iotHubs: z.array(z.string().min(1)).optional(),
    /** The device twin a newly provisioned device starts with. */
    initialTwin: z
      .object({
        tags: z.record(z.string(), z.unknown()).optional(),
        properties: z.object({ desired: z.record(z.string(), z.unknown()).optional() }).strict().prefault({}),
      })
      .strict()
      .optional(),
    /** Prepended to the registration id to form the IoT Hub device id ('' = deviceId is the serial). */
    deviceIdPrefix: z.string().default(''),
    /**
     * What the registration id is. For X.509 attestation DPS requires registrationId == the leaf
     * certificate's subject CN, and Keyline device certificates carry CN = chip serial (18 hex).
     */
    registrationIdFrom: z.literal('serial').default('serial'),
    /** The group's id in 'enrollment-group' mode (default: the registry's name). */
    enrollmentGroupId: dpsId.optional(),
    /**
     * The verification code DPS generated for the uploaded issuing CA (manual proof of
     * possession): setup then signs a certificate with CN = this code by the issuing CA key in the
     * HSM and returns it, to be uploaded with `az iot dps certificate verify`. DPS generates a code
     * per CA certificate, so this one value is used only when setup covers one CA (one listed, or
     * --ca); `registry setup --ca KEYID --verification-code CODE` is the per-CA way.
     */
    caVerificationCode: z.string().regex(VERIFICATION_CODE, 'a hex string of 1-64 characters, as az iot dps certificate generate-verification-code prints it').optional(),
    /** DPS admits 1,000 operations per minute per service (iot-dps-limits); 16/s stays below it. */
    maxPerSecond: z.number().positive().default(16),
    /** What DPS does when an already-assigned device registers again (concepts-device-reprovision). */
    reprovisionPolicy: z
      .object({ updateHubAssignment: z.boolean(), migrateDeviceData: z.boolean() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.allocationPolicy === 'static' && !cfg.iotHubHostName) {
      ctx.addIssue({ code: 'custom', path: ['iotHubHostName'], message: "required when allocationPolicy is 'static'" });
    }
  });

/** A validated 'azure-dps' registry section. */
export type AzureDpsRegistryConfig = z.infer<typeof azureDpsRegistryConfig>;
