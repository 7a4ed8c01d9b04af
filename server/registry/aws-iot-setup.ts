/**
 * `keyline registry setup` for an 'aws-iot' registry in 'jitp' mode: registers Keyline's issuing
 * CA in the AWS account with a just-in-time provisioning template (reference
 * cloud-provisioning.md §1.1), so each device is created at its first connection. AWS asks for
 * proof of possession of the CA key: a verification certificate whose subject CN is the account's
 * registration code, signed by the CA. It is signed through the HSM signer (signer-crypto.ts),
 * as the ceremony signs; the CA key never leaves the token. The verification certificate's own
 * key pair is thrown away: only its signature by the CA matters (register-CA-cert.html).
 */
import { DescribeCACertificateCommand, GetRegistrationCodeCommand, RegisterCACertificateCommand } from '@aws-sdk/client-iot';
import { KeylineError } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';
import type { AwsIotRegistryConfig } from './aws-iot-config.js';
import { awsErrorName, createIotClient, iotCall } from './aws-iot-client.js';
import { awsCertificateId } from './aws-iot-registry.js';
import type { RegistrySetupContext } from './registry-kind.js';
import { verificationCertificate } from '../ca/verification-certificate.js';

const CN = 'AWS::IoT::Certificate::CommonName';
const ORG = 'AWS::IoT::Certificate::Organization';

/**
 * Keyline's default JITP template. A Keyline device certificate's subject is O=<product>,
 * CN=<chip serial, 18 hex> (secure-element/atcacert/device-defs.ts) and JITP reads parameters only
 * from the subject DN (§1.3), so the thing is named prefix + CommonName, as register() names it
 * in the other modes, and records the serial and product.
 */
export function defaultJitpTemplate(cfg: AwsIotRegistryConfig): string {
  const thing: Record<string, unknown> = {
    ThingName: { 'Fn::Join': ['', [cfg.thingNamePrefix, { Ref: CN }]] },
    AttributePayload: { ...cfg.attributes, serial: { Ref: CN }, product: { Ref: ORG } },
    ...(cfg.thingTypeName ? { ThingTypeName: cfg.thingTypeName } : {}),
    ...(cfg.thingGroup ? { ThingGroups: [cfg.thingGroup] } : {}),
  };
  const resources: Record<string, unknown> = {
    thing: { Type: 'AWS::IoT::Thing', Properties: thing },
    certificate: { Type: 'AWS::IoT::Certificate', Properties: { CertificateId: { Ref: 'AWS::IoT::Certificate::Id' }, Status: 'ACTIVE' } },
    ...(cfg.policyName ? { policy: { Type: 'AWS::IoT::Policy', Properties: { PolicyName: cfg.policyName } } } : {}),
  };
  return JSON.stringify({
    Parameters: { [CN]: { Type: 'String' }, [ORG]: { Type: 'String' }, 'AWS::IoT::Certificate::Id': { Type: 'String' } },
    Resources: resources,
  });
}

/** Registers the issuing CA for JITP (idempotent: an already registered CA is described and returned). */
export async function setupAwsIotJitp(name: string, cfg: AwsIotRegistryConfig, ctx: RegistrySetupContext): Promise<Record<string, unknown>> {
  if (cfg.mode !== 'jitp') {
    throw new KeylineError('CONFIG_INVALID', `registries.${name}.mode is '${cfg.mode}': setup applies to 'jitp' only (the other modes register each unit)`, { detail: { field: `registries.${name}.mode` } });
  }
  if (ctx.verificationCode !== undefined) {
    throw new KeylineError('NOT_SUPPORTED', `--verification-code: registry ${name} (aws-iot) asks AWS for its registration code itself; the flag is for Azure DPS`);
  }
  if (!cfg.jitp) throw new KeylineError('CONFIG_INVALID', `registries.${name}.jitp: required for setup ({roleArn, templateBody?|templateName?})`, { detail: { field: `registries.${name}.jitp` } });
  const client = createIotClient(cfg, ctx);
  const call = iotCall(name);
  const caId = awsCertificateId(ctx.issuingCaDer);
  const registrationConfig = { roleArn: cfg.jitp.roleArn, ...(cfg.jitp.templateName ? { templateName: cfg.jitp.templateName } : { templateBody: cfg.jitp.templateBody ?? defaultJitpTemplate(cfg) }) };
  try {
    const { registrationCode } = await call('get registration code', () => client.send(new GetRegistrationCodeCommand({})));
    ctx.progress(`${name}: signing a verification certificate (CN = registration code) with the issuing CA key`);
    const verification = await verificationCertificate(ctx, registrationCode!);
    await ctx.recordVerificationCertificate?.(verification);
    const out = await call(`register CA certificate ${caId}`, () => client.send(new RegisterCACertificateCommand({
      caCertificate: toPem(ctx.issuingCaDer), verificationCertificate: verification, setAsActive: true, allowAutoRegistration: true, registrationConfig,
    })));
    ctx.progress(`${name}: issuing CA registered for JITP (${out.certificateId})`);
    return { registry: name, type: 'aws-iot', mode: 'jitp', created: true, caCertificateId: out.certificateId, caCertificateArn: out.certificateArn, status: 'ACTIVE', autoRegistration: 'ENABLE' };
  } catch (err) {
    if (awsErrorName(err) !== 'ResourceAlreadyExistsException') throw err;
  }
  // Already registered (an earlier setup, or by hand): report what AWS holds, change nothing.
  const d = await call(`describe CA certificate ${caId}`, () => client.send(new DescribeCACertificateCommand({ certificateId: caId })));
  const desc = d.certificateDescription ?? {};
  const held = (d.registrationConfig ?? {}) as Record<string, unknown>;
  const same = (['templateBody', 'templateName', 'roleArn'] as const).every((k) => (held[k] ?? undefined) === (registrationConfig as Record<string, unknown>)[k]);
  ctx.progress(`${name}: issuing CA already registered (${desc.status}, auto-registration ${desc.autoRegistrationStatus})${same ? '' : '; its registration config differs from keyline.json (not changed)'}`);
  return {
    registry: name, type: 'aws-iot', mode: 'jitp', created: false, caCertificateId: desc.certificateId ?? caId, caCertificateArn: desc.certificateArn,
    status: desc.status, autoRegistration: desc.autoRegistrationStatus, registrationConfigMatches: same,
  };
}
