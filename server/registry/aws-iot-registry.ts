/**
 * AWS IoT as a preregistration registry, through the official @aws-sdk/client-iot. Per unit it
 * makes the calls Microchip's manifest importer makes (reference cloud-provisioning.md §2.3):
 * register the device certificate ACTIVE, attach the policy, create the thing, attach the
 * certificate to it, add it to the thing group. Every step is idempotent, so a job the outbox
 * retries after a crash finishes the sequence instead of starting a second registration:
 * AWS names a certificate by the SHA-256 of its DER, and CreateThing with the same name and
 * configuration succeeds again. In 'jitp' mode AWS itself provisions the device at its first
 * connection; register() then only reports the job as awaiting, and confirmConnection() looks
 * whether the certificate has turned ACTIVE.
 */
import { createHash } from 'node:crypto';
import {
  AddThingToThingGroupCommand, AttachPolicyCommand, AttachThingPrincipalCommand, type CertificateStatus, CreateThingCommand,
  DescribeCertificateCommand, IoTClient, RegisterCertificateCommand, RegisterCertificateWithoutCACommand, UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { RegistryError } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';
import type { UnitRecord } from '../store/store.js';
import type { AwsIotRegistryConfig } from './aws-iot-config.js';
import { awsErrorName, createIotClient, iotCall } from './aws-iot-client.js';
import type { RegistryContext } from './registry-kind.js';
import type { Registry, RegistrationResult } from './registry.js';

/** AWS's certificate id: lowercase hex SHA-256 of the certificate DER. */
export function awsCertificateId(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Thing attribute values admit `[a-zA-Z0-9_.,@/:#=[\]-]`, at most 800 (CreateThing API). */
function attributeValue(v: string): string {
  return v.replace(/[^a-zA-Z0-9_.,@/:#=[\]-]/g, '_').slice(0, 800);
}

/** Creates the AWS IoT registry `name` from its validated config section. */
export function createAwsIotRegistry(name: string, cfg: AwsIotRegistryConfig, ctx: RegistryContext, client: IoTClient = createIotClient(cfg, ctx)): Registry {
  const thingName = (u: UnitRecord): string => cfg.thingNamePrefix + u.serial;
  const call = iotCall(name);

  /** Registers the certificate in `status` (or finds it registered); returns its ARN and status. */
  async function registerCertificate(u: UnitRecord, status: CertificateStatus): Promise<{ arn: string; status: string }> {
    const certificatePem = toPem(u.certificateDer);
    const certificateId = awsCertificateId(u.certificateDer);
    try {
      const out = cfg.mode === 'multi-account'
        ? await call(`register certificate ${certificateId}`, () => client.send(new RegisterCertificateWithoutCACommand({ certificatePem, status })))
        : await call(`register certificate ${certificateId}`, () => client.send(new RegisterCertificateCommand({ certificatePem, caCertificatePem: ctx.issuingCaPemFor(u.certificateDer), status })));
      return { arn: out.certificateArn!, status };
    } catch (err) {
      if (awsErrorName(err) !== 'ResourceAlreadyExistsException') throw err;
    }
    // Registered by an earlier attempt (or by hand): read what it is rather than trust the error.
    const d = await call(`describe certificate ${certificateId}`, () => client.send(new DescribeCertificateCommand({ certificateId })));
    return { arn: d.certificateDescription!.certificateArn!, status: d.certificateDescription!.status! };
  }

  async function setStatus(certificateId: string, newStatus: CertificateStatus): Promise<void> {
    await call(`set certificate ${certificateId} ${newStatus}`, () => client.send(new UpdateCertificateCommand({ certificateId, newStatus })));
  }

  return {
    name,
    maxPerSecond: cfg.maxPerSecond,

    async register(u: UnitRecord): Promise<RegistrationResult> {
      const externalId = thingName(u);
      // JITP: AWS creates the thing from the CA's template when the device first connects.
      if (cfg.mode === 'jitp') return { externalId, awaitingConnection: true };
      const certificateId = awsCertificateId(u.certificateDer);
      // A unit revoked before its job ran is registered revoked, so it can never connect.
      const wanted: CertificateStatus = u.status === 'revoked' ? cfg.revokeAs : 'ACTIVE';
      const cert = await registerCertificate(u, wanted);
      if (cert.status !== wanted) {
        if (wanted === 'ACTIVE' && (cert.status === 'REVOKED' || cert.status === 'INACTIVE')) {
          throw new RegistryError('REGISTRY_REJECTED', `${name}: certificate ${certificateId} of unit ${u.serial} is ${cert.status} in AWS IoT; not reactivated`);
        }
        // PENDING_ACTIVATION / REGISTER_INACTIVE: activate, as the importer's step 3 does.
        if (cert.status !== 'REVOKED') await setStatus(certificateId, wanted);
      }
      if (cfg.policyName) {
        await call(`attach policy ${cfg.policyName}`, () => client.send(new AttachPolicyCommand({ policyName: cfg.policyName, target: cert.arn })));
      }
      const attributes = { ...cfg.attributes, serial: u.serial, workOrder: attributeValue(u.workOrder) };
      try {
        await call(`create thing ${externalId}`, () => client.send(new CreateThingCommand({
          thingName: externalId,
          ...(cfg.thingTypeName ? { thingTypeName: cfg.thingTypeName } : {}),
          attributePayload: { attributes },
        })));
      } catch (err) {
        // Same name, other configuration (e.g. attributes edited since): the thing is there; keep it.
        if (awsErrorName(err) !== 'ResourceAlreadyExistsException') throw err;
        ctx.log.warn({ registry: name, thing: externalId }, 'thing exists with another configuration; kept as it is');
      }
      await call(`attach certificate to thing ${externalId}`, () => client.send(new AttachThingPrincipalCommand({ thingName: externalId, principal: cert.arn })));
      if (cfg.thingGroup) {
        await call(`add thing ${externalId} to group ${cfg.thingGroup}`, () => client.send(new AddThingToThingGroupCommand({ thingName: externalId, thingGroupName: cfg.thingGroup })));
      }
      return { externalId };
    },

    async confirmConnection(u: UnitRecord): Promise<RegistrationResult | null> {
      const certificateId = awsCertificateId(u.certificateDer);
      try {
        const d = await call(`describe certificate ${certificateId}`, () => client.send(new DescribeCertificateCommand({ certificateId })));
        // JITP registers the certificate PENDING_ACTIVATION and turns it ACTIVE once the template ran (§1.2).
        return d.certificateDescription?.status === 'ACTIVE' ? { externalId: thingName(u) } : null;
      } catch (err) {
        if (awsErrorName(err) === 'ResourceNotFoundException') return null;
        throw err;
      }
    },

    async revoke(u: UnitRecord): Promise<void> {
      const certificateId = awsCertificateId(u.certificateDer);
      try {
        await call(`set certificate ${certificateId} ${cfg.revokeAs}`, () => client.send(new UpdateCertificateCommand({ certificateId, newStatus: cfg.revokeAs })));
        return;
      } catch (err) {
        const e = awsErrorName(err);
        if (e === 'CertificateStateException') {
          // A REVOKED certificate cannot change status again: done if it is revoked or already as wanted.
          const d = await call(`describe certificate ${certificateId}`, () => client.send(new DescribeCertificateCommand({ certificateId })));
          const status = d.certificateDescription?.status;
          if (status === cfg.revokeAs || status === 'REVOKED') return;
          throw new RegistryError('REGISTRY_REJECTED', `${name}: certificate ${certificateId} of unit ${u.serial} is ${status}; cannot set ${cfg.revokeAs}`, { cause: err });
        }
        if (e !== 'ResourceNotFoundException') throw err;
      }
      // Never registered: register it withdrawn, so neither a late register job nor JITP at a
      // first connection can bring the device in (AWS provisions only unknown certificates).
      // (A register job racing this one may have registered it ACTIVE meanwhile: the status is re-read.)
      const cert = await registerCertificate(u, 'INACTIVE');
      if (cert.status !== cfg.revokeAs && cert.status !== 'REVOKED') await setStatus(certificateId, cfg.revokeAs);
    },
  };
}
