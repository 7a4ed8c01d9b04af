/**
 * The 'aws-iot' registry type: its config schema (aws-iot-config.ts), its factory
 * (aws-iot-registry.ts), the one-time setup of its 'jitp' mode (aws-iot-setup.ts) and the
 * deactivation of a revoked issuing CA (aws-iot-ca-deactivation.ts).
 */
import { awsTrustsIssuingCa, deactivateAwsIotCa } from './aws-iot-ca-deactivation.js';
import { awsIotRegistryConfig, type AwsIotRegistryConfig } from './aws-iot-config.js';
import { createAwsIotRegistry } from './aws-iot-registry.js';
import { setupAwsIotJitp } from './aws-iot-setup.js';
import type { RegistryKind } from './registry-kind.js';

/** The 'aws-iot' registry kind. */
export const awsIotKind: RegistryKind<AwsIotRegistryConfig> = {
  type: 'aws-iot',
  configSchema: awsIotRegistryConfig,
  create: (name, cfg, ctx) => createAwsIotRegistry(name, cfg, ctx),
  setup: setupAwsIotJitp,
  trustsIssuingCa: awsTrustsIssuingCa,
  deactivateCa: deactivateAwsIotCa,
};
