/**
 * The 'azure-dps' registry type: its config schema, its factory, and the one-time setup of its
 * 'enrollment-group' mode, an X.509 enrollment group whose signing certificate is Keyline's
 * issuing CA, so that every unit it signs may provision itself at first connection.
 *
 * DPS admits a group's devices only once that CA is verified in the DPS instance's certificates
 * (proof of possession, or "set status to verified" on upload). That is the management plane
 * (Azure Resource Manager / `az iot dps certificate`), outside this service SDK; setup says so.
 */
import { KeylineError, RegistryError, ValidationError } from '../../common/errors.js';
import { caKeyId } from '../ca/key-id.js';
import { VERIFICATION_CODE, verificationCertificate } from '../ca/verification-certificate.js';
import { disableDpsCaGroup, dpsTrustsIssuingCa, groupHolds, readGroup, sha256Hex, siblingGroupId } from './azure-dps-ca-group.js';
import { azureDpsRegistryConfig, type AzureDpsRegistryConfig } from './azure-dps-config.js';
import { createAzureDpsRegistry, createDpsClient, dpsError, toPem } from './azure-dps-registry.js';
import type { RegistryKind, RegistrySetupContext } from './registry-kind.js';

/** What an operator must still do in Azure for the group to admit devices. */
export const DPS_CA_VERIFICATION_NOTE =
  'DPS admits the group only once the issuing CA is verified in the DPS instance (Certificates; how-to-verify-certificates): ' +
  'upload it as verified (az iot dps certificate create --dps-name DPS -g RG --certificate-name keyline-issuing --path issuing-ca.pem --verified true), ' +
  'or prove possession (az iot dps certificate generate-verification-code --etag E, a certificate with CN=<code> signed by the issuing CA key, ' +
  'az iot dps certificate verify --path verification.pem --etag E2). ' +
  'DPS gives each uploaded certificate its own code: after a rotation, verify each CA in turn (keyline registry setup --ca KEYID --verification-code CODE).';

/** Creates or refreshes the enrollment group on the issuing CA (idempotent); never replaces another CA's group. */
export async function setupAzureDpsEnrollmentGroup(name: string, cfg: AzureDpsRegistryConfig, ctx: RegistrySetupContext): Promise<Record<string, unknown>> {
  if (cfg.mode !== 'enrollment-group') {
    throw new KeylineError('NOT_SUPPORTED', `registries.${name}.mode is '${cfg.mode}': setup applies to 'enrollment-group' only`, { detail: { field: `registries.${name}.mode` } });
  }
  const code = verificationCodeOf(name, cfg, ctx);
  const client = createDpsClient(name, cfg, ctx);
  const caPem = ctx.issuingCaPem.includes('BEGIN CERTIFICATE') ? ctx.issuingCaPem : toPem(ctx.issuingCaDer);
  const caSha256 = sha256Hex(ctx.issuingCaDer);
  const groupOf = (id: string) => readGroup(client, id, name);

  // A group has one signing CA here, so after a rotation (issue 19) each listed CA gets its own:
  // the configured id for the CA that holds it (or takes it first), that id + '-' + key id for the
  // others. A group held by a CA keyline.json does not list is never overwritten.
  const baseId = cfg.enrollmentGroupId ?? name;
  let enrollmentGroupId = baseId;
  let found = await groupOf(baseId);
  if (found && !groupHolds(found, ctx.issuingCaDer)) {
    const sibling = (ctx.issuingCasDer ?? []).some((der) => groupHolds(found, der));
    if (!sibling) throw new RegistryError('REGISTRY_REJECTED', `enrollment group ${baseId} is signed by another CA; not overwritten`, { detail: { enrollmentGroupId: baseId } });
    enrollmentGroupId = siblingGroupId(baseId, ctx.issuingCaDer);
    found = await groupOf(enrollmentGroupId);
    if (found && !groupHolds(found, ctx.issuingCaDer)) {
      throw new RegistryError('REGISTRY_REJECTED', `enrollment group ${enrollmentGroupId} is signed by another CA; not overwritten`, { detail: { enrollmentGroupId } });
    }
  }
  // An existing group of this CA is rewritten under its etag (If-Match) so that config changes apply.
  const body = {
    ...(found ?? {}),
    enrollmentGroupId,
    attestation: { type: 'x509' as const, x509: { signingCertificates: { primary: { certificate: caPem } } } },
    provisioningStatus: 'enabled' as const,
    capabilities: { iotEdge: false },
    ...(cfg.iotHubHostName ? { iotHubHostName: cfg.iotHubHostName } : {}),
    ...(cfg.allocationPolicy ? { allocationPolicy: cfg.allocationPolicy } : {}),
    ...(cfg.iotHubs ? { iotHubs: cfg.iotHubs } : {}),
    ...(cfg.reprovisionPolicy ? { reprovisionPolicy: cfg.reprovisionPolicy } : {}),
    ...(cfg.initialTwin ? { initialTwin: cfg.initialTwin as never } : {}),
  };
  let written;
  try {
    written = (await client.createOrUpdateEnrollmentGroup(body)).responseBody;
  } catch (err) {
    throw dpsError(err, 'createOrUpdateEnrollmentGroup');
  }
  ctx.progress(`${found ? 'updated' : 'created'} DPS enrollment group ${enrollmentGroupId} on the issuing CA (sha256 ${caSha256})`);
  // Manual proof of possession needs the CA key, which only the HSM holds: sign it here (the same
  // CN = code certificate AWS asks for) when the operator has the code DPS generated.
  let verification: string | undefined;
  if (code) {
    verification = await verificationCertificate(ctx, code);
    await ctx.recordVerificationCertificate?.(verification);
    ctx.progress(`signed a verification certificate (CN = ${code}) with the key of issuing CA ${caKeyId(ctx.issuingCaDer)}: upload it with az iot dps certificate verify, for this CA's certificate`);
  } else {
    ctx.progress(DPS_CA_VERIFICATION_NOTE);
  }
  return {
    registry: name, type: 'azure-dps', enrollmentGroupId, created: !found, etag: written?.etag ?? null, issuingCaSha256: caSha256,
    caVerification: DPS_CA_VERIFICATION_NOTE,
    ...(verification ? { verificationCertificate: verification, verificationCaKeyId: caKeyId(ctx.issuingCaDer) } : {}),
  };
}

/**
 * The verification code to sign for this CA: the operator's --verification-code (the CLI gives it
 * to one CA), else caVerificationCode. DPS generates a code per uploaded certificate, so the one
 * config value is refused when this run sets up several CAs: signing it under each would make
 * certificates DPS rejects for all but one, with no way to tell which.
 */
function verificationCodeOf(name: string, cfg: AzureDpsRegistryConfig, ctx: RegistrySetupContext): string | undefined {
  if (ctx.verificationCode !== undefined) {
    if (!VERIFICATION_CODE.test(ctx.verificationCode)) {
      throw new ValidationError('VALIDATION_FAILED', `--verification-code: a hex string of 1-64 characters, as az iot dps certificate generate-verification-code prints it`);
    }
    return ctx.verificationCode;
  }
  const cas = ctx.setupCaKeyIds ?? [];
  if (cfg.caVerificationCode && cas.length > 1) {
    throw new KeylineError('CONFIG_INVALID',
      `registries.${name}.caVerificationCode: one code, but this setup covers ${cas.length} issuing CAs (${cas.join(', ')}) and DPS generates a code per CA certificate; ` +
      `set up the CA the code belongs to alone (--ca KEYID), or pass its code with --ca KEYID --verification-code CODE and remove the field`,
      { detail: { field: `registries.${name}.caVerificationCode`, issuingCas: cas } });
  }
  return cfg.caVerificationCode;
}

/** The 'azure-dps' registry kind. */
export const azureDpsKind: RegistryKind<AzureDpsRegistryConfig> = {
  type: 'azure-dps',
  configSchema: azureDpsRegistryConfig,
  create: (name, cfg, ctx) => createAzureDpsRegistry(name, cfg, ctx),
  setup: setupAzureDpsEnrollmentGroup,
  trustsIssuingCa: dpsTrustsIssuingCa,
  deactivateCa: disableDpsCaGroup,
};
