/**
 * Taking an issuing CA the root has revoked out of AWS IoT: UpdateCACertificate with newStatus
 * INACTIVE and newAutoRegistrationStatus DISABLE, as AWS's own Device Defender check
 * REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK asks. AWS checks no Keyline CRL: while the CA is ACTIVE
 * with auto-registration, any certificate its (perhaps stolen) key signs is registered at its first
 * connection (JITP/JITR), and RegisterCertificate accepts them. Deactivating stops new ones only:
 * AWS has no cascading revoke, device certificates already registered under the CA stay as they are
 * until each is revoked (the per-unit revoke path, UpdateCertificate). The CA is not deleted: AWS
 * keeps its record and its certificates' link to it (ListCertificatesByCA).
 */
import { DescribeCACertificateCommand, UpdateCACertificateCommand } from '@aws-sdk/client-iot';
import type { AwsIotRegistryConfig } from './aws-iot-config.js';
import { awsErrorName, createIotClient, iotCall } from './aws-iot-client.js';
import { awsCertificateId } from './aws-iot-registry.js';
import type { CaDeactivation, RegistryCaContext } from './registry-kind.js';

/** Every mode but 'multi-account' has the issuing CA registered in the account. */
export const awsTrustsIssuingCa = (cfg: AwsIotRegistryConfig): boolean => cfg.mode !== 'multi-account';

/** Sets the CA INACTIVE with auto-registration DISABLE (idempotent: an inactive CA is left as it is). */
export async function deactivateAwsIotCa(name: string, cfg: AwsIotRegistryConfig, ctx: RegistryCaContext): Promise<CaDeactivation> {
  const client = createIotClient(cfg, ctx);
  const call = iotCall(name);
  // The id AWS gives a CA is the SHA-256 of its DER, as setup derives it.
  const caId = awsCertificateId(ctx.issuingCaDer);
  let d;
  try {
    d = await call(`describe CA certificate ${caId}`, () => client.send(new DescribeCACertificateCommand({ certificateId: caId })));
  } catch (err) {
    if (awsErrorName(err) !== 'ResourceNotFoundException') throw err;
    ctx.progress(`${name}: CA certificate ${caId} is not registered in the account: nothing to deactivate`);
    return { outcome: 'not-registered', detail: { registry: name, type: 'aws-iot', caCertificateId: caId } };
  }
  const desc = d.certificateDescription ?? {};
  const from = { status: desc.status ?? null, autoRegistration: desc.autoRegistrationStatus ?? null };
  const detail = { registry: name, type: 'aws-iot', caCertificateId: desc.certificateId ?? caId, caCertificateArn: desc.certificateArn ?? null, from };
  if (desc.status === 'INACTIVE' && desc.autoRegistrationStatus === 'DISABLE') {
    ctx.progress(`${name}: CA certificate ${caId} already INACTIVE, auto-registration DISABLE`);
    return { outcome: 'already-deactivated', detail: { ...detail, status: 'INACTIVE', autoRegistration: 'DISABLE' } };
  }
  await call(`update CA certificate ${caId} (INACTIVE, auto-registration DISABLE)`,
    () => client.send(new UpdateCACertificateCommand({ certificateId: caId, newStatus: 'INACTIVE', newAutoRegistrationStatus: 'DISABLE' })));
  ctx.progress(`${name}: CA certificate ${caId} set INACTIVE, auto-registration DISABLE (was ${from.status}, ${from.autoRegistration}); ` +
    'device certificates already registered under it stay until each is revoked');
  return { outcome: 'deactivated', detail: { ...detail, status: 'INACTIVE', autoRegistration: 'DISABLE' } };
}
