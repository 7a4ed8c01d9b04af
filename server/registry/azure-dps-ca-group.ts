/**
 * The DPS enrollment group of one issuing CA ('enrollment-group' mode): where setup puts it, and
 * how a CA the root revoked is taken out of DPS. DPS checks no CRL or OCSP; a disabled entry is
 * how it "revokes" (reference cloud-provisioning.md §4.4), so the group is rewritten under its etag
 * with provisioningStatus 'disabled', never deleted: it stays as the record of what was trusted,
 * and a disabled group still blocks its devices where a deleted one would simply be gone. Devices
 * DPS already assigned to an IoT Hub keep their hub identity: DPS does not reach into the hub.
 */
import { createHash } from 'node:crypto';
import type { EnrollmentGroup } from 'azure-iot-provisioning-service/dist/interfaces.js';
import { caKeyId } from '../ca/key-id.js';
import type { AzureDpsRegistryConfig } from './azure-dps-config.js';
import { createDpsClient, dpsError, holdsCertificate, toPem } from './azure-dps-registry.js';
import type { CaDeactivation, RegistryCaContext } from './registry-kind.js';

type DpsClient = ReturnType<typeof createDpsClient>;

/** The group id of a CA that does not hold the configured one (issue 19): that id + '-' + key id. */
export const siblingGroupId = (baseId: string, caDer: Uint8Array): string => `${baseId.slice(0, 128 - 17)}-${caKeyId(caDer).slice(0, 16)}`;

/** SHA-256 of a certificate's DER, lowercase hex: how DPS and these records name a CA. */
export const sha256Hex = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');

/** The group `id`, or undefined when DPS has none; `what` names the registry in errors. */
export async function readGroup(client: DpsClient, id: string, what: string): Promise<EnrollmentGroup | undefined> {
  try {
    return (await client.getEnrollmentGroup(id)).responseBody;
  } catch (err) {
    if ((err as { response?: { statusCode?: number } }).response?.statusCode !== 404) throw dpsError(err, `${what}: getEnrollmentGroup ${id}`);
    return undefined;
  }
}

/** Whether `group` is signed by the CA `der`. */
export const groupHolds = (group: EnrollmentGroup | undefined, der: Uint8Array): boolean =>
  holdsCertificate(group?.attestation?.x509?.signingCertificates, sha256Hex(der), toPem(der));

/** 'enrollment-group' mode puts a group on the issuing CA. */
export const dpsTrustsIssuingCa = (cfg: AzureDpsRegistryConfig): boolean => cfg.mode === 'enrollment-group';

/** Disables the revoked CA's group (idempotent: a disabled group is left as it is). */
export async function disableDpsCaGroup(name: string, cfg: AzureDpsRegistryConfig, ctx: RegistryCaContext): Promise<CaDeactivation> {
  const client = createDpsClient(name, cfg, ctx);
  const baseId = cfg.enrollmentGroupId ?? name;
  const caSha256 = sha256Hex(ctx.issuingCaDer);
  let id = baseId;
  let group = await readGroup(client, id, name);
  if (!groupHolds(group, ctx.issuingCaDer)) {
    id = siblingGroupId(baseId, ctx.issuingCaDer);
    group = await readGroup(client, id, name);
  }
  if (!group || !groupHolds(group, ctx.issuingCaDer)) {
    ctx.progress(`${name}: no DPS enrollment group on the CA (sha256 ${caSha256}): nothing to disable`);
    return { outcome: 'not-registered', detail: { registry: name, type: 'azure-dps', enrollmentGroupId: null, issuingCaSha256: caSha256 } };
  }
  const detail = { registry: name, type: 'azure-dps', enrollmentGroupId: id, issuingCaSha256: caSha256, from: group.provisioningStatus ?? null };
  if (group.provisioningStatus === 'disabled') {
    ctx.progress(`${name}: DPS enrollment group ${id} already disabled`);
    return { outcome: 'already-deactivated', detail: { ...detail, provisioningStatus: 'disabled' } };
  }
  // As setup rewrites it: the fields read (etag → If-Match), the CA PEM (a GET answers only its info).
  const body = { ...group, enrollmentGroupId: id, attestation: { type: 'x509' as const, x509: { signingCertificates: { primary: { certificate: toPem(ctx.issuingCaDer) } } } }, provisioningStatus: 'disabled' as const };
  let written;
  try {
    written = (await client.createOrUpdateEnrollmentGroup(body)).responseBody;
  } catch (err) {
    throw dpsError(err, `${name}: createOrUpdateEnrollmentGroup ${id} (provisioningStatus disabled)`);
  }
  ctx.progress(`${name}: DPS enrollment group ${id} disabled (kept, not deleted); devices already assigned to an IoT Hub keep their hub identity`);
  return { outcome: 'deactivated', detail: { ...detail, provisioningStatus: 'disabled', etag: written?.etag ?? null } };
}
