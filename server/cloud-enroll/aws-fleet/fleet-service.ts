/**
 * What AWS IoT Fleet Provisioning decides, decided by Keyline's records and services. The device
 * is a provisioned unit whose line certificate is its claim.
 *
 * CreateCertificateFromCsr: the unit must be in good standing (the enrollment rules: exists, key
 * as recorded, confirmed, not revoked). A CSR for the chip's current key is answered the unit's
 * current certificate. For any other key the provisioning service applies re-enrollment's rules
 * (work order, DUPLICATE_KEY against every unit and every superseded key) and signs, recording
 * nothing: the certificate is pending (AWS's PENDING_ACTIVATION). Its DER goes into the audit
 * chain (`unit.certificate-pending`), and its single-use ownership token, valid one hour, into
 * the enrollment nonces (only its hash is stored, bound to the unit and the certificate).
 *
 * RegisterThing: the token is spent first, whatever follows (single use); the template must admit
 * the unit and its pre-provisioning hook allow it; then one write transaction holds the whole
 * outcome: the enrollment service records the enrollment (with its audit) and answers the group's
 * signed configuration, this endpoint's audit record names the thing of that group, and the
 * provisioning service activates the new certificate (superseding the line certificate, revoking
 * it when the template says so) after applying its rules again. A refusal by any of them leaves
 * none of it recorded, as the device, answered an error, expects. A certificate whose token
 * expired is never activated: Keyline's records, OCSP and registries never know it (AWS deletes it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { KeylineError } from '../../../common/errors.js';
import { toPem } from '../../../common/pem.js';
import type { ChipSerial } from '../../../common/protocol/station-api.js';
import type { EnrollmentService, EnrollResult } from '../../enroll/enrollment-service.js';
import type { DeviceRequestLimiter } from '../../enroll/device-request-limiter.js';
import { unitStanding } from '../../enroll/unit-standing.js';
import { parseCsr } from '../../services/public-key.js';
import type { Provisioning } from '../../services/provisioning.js';
import type { Store, Tx } from '../../store/store.js';
import type { AwsFleetConfig } from '../cloud-enroll-config.js';
import type { DevicePeer } from '../mqtt-endpoint/device-connect.js';
import { deviceConfigurationOf, templateRefusal, thingNameOf } from './fleet-templates.js';
import { callPreProvisioningHook } from './pre-provisioning-hook.js';
import type { CreatedCertificate, RegisteredThing } from '../../../common/protocol/aws-fleet.js';

/** What the service needs. */
export interface FleetServiceDeps {
  store: Store;
  provisioning: Pick<Provisioning, 'signPendingReissue' | 'activatePendingReissue'>;
  enrollment: Pick<EnrollmentService, 'verifiedEnrollment'>;
  config: AwsFleetConfig;
  limiter: DeviceRequestLimiter;
  now?: () => Date;
  fetch?: typeof fetch;
}

/** What the pending record keeps of a certificate. */
interface PendingDetail {
  certificateId: string;
  /** The unit's current certificate when it was answered (the CSR named the current key). */
  current?: boolean;
  certificateSerial: string;
  certificateDer: string;
  publicKey: string;
}

/** The audit action that keeps a pending certificate (and, by it, what RegisterThing activates). */
export const PENDING_ACTION = 'unit.certificate-pending';
const ACTOR = 'aws-fleet';
/** The token is 32 random bytes, base64url: 43 characters (the embedded C SDK's demo keeps 512). */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const sameKey = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
const tokenHash = (token: string): string => createHash('sha256').update(`keyline-aws-fleet-token\0${token}`).digest('hex');

/** Builds the two operations. */
export function createFleetService(d: FleetServiceDeps) {
  const now = d.now ?? (() => new Date());
  const throttle = (serial: string) => {
    const wait = d.limiter.take(serial);
    if (wait > 0) throw new KeylineError('RATE_LIMITED', `device ${serial}: more than ${d.config.rateLimitPerMinute} requests a minute`, { detail: { retryAfterSeconds: wait } });
  };
  // The enrollment rules on the unit, with the key of the certificate the device connected with.
  const standing = (device: DevicePeer) => d.store.transaction(async (tx) => {
    const unit = await unitStanding(tx, device.serial, { publicKey: device.publicKey, serialHex: device.certificateSerial });
    if (unit instanceof KeylineError) throw unit;
    return { unit, product: (await tx.workOrders.get(unit.workOrder))?.product ?? '' };
  }, { readOnly: true });

  return {
    async createCertificateFromCsr(device: DevicePeer, csr: string): Promise<CreatedCertificate> {
      throttle(device.serial);
      const { unit } = await standing(device);
      // The possession proof (the CSR's signature) is checked whichever key it names.
      const requested = (await parseCsr(csr)).publicKey;
      let cert: { der: Uint8Array; serialHex: string; fingerprintSha256: string };
      let publicKey: Uint8Array;
      const current = sameKey(requested, unit.publicKey);
      if (current) {
        // The chip's current key: its certificate is the unit's current one, answered as it is.
        // Signing again would only repeat it (serials derive from key and issue hour) or, an hour
        // later, supersede it by a twin for the same key, which re-enrollment's rules then count
        // as an earlier key and refuse ever after (KEY_REUSE_NOT_ALLOWED).
        if (!d.config.allowKeyReuse) throw new KeylineError('KEY_REUSE_NOT_ALLOWED', `certificateSigningRequest: unit ${device.serial} needs a new key (awsFleet.allowKeyReuse is false)`);
        cert = { der: unit.certificateDer, serialHex: unit.certificateSerial, fingerprintSha256: unit.fingerprintSha256 };
        publicKey = unit.publicKey;
      } else {
        const signed = await d.provisioning.signPendingReissue({
          serial: device.serial as ChipSerial, csr, presentedCertificateSerial: device.certificateSerial, allowKeyReuse: d.config.allowKeyReuse, revokeSuperseded: false,
        }, `${ACTOR}:${device.serial}`);
        // A retry whose first answer was lost is answered the certificate it made current.
        cert = signed.cert
          ? { der: signed.cert.der, serialHex: signed.cert.serialHex, fingerprintSha256: signed.cert.fingerprintSha256 }
          : { der: signed.replay!.certificateDer, serialHex: signed.replay!.certificateSerial, fingerprintSha256: signed.replay!.fingerprintSha256 };
        publicKey = signed.publicKey;
      }
      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(now().getTime() + d.config.tokenTtlSeconds * 1000).toISOString();
      await d.store.transaction(async (tx) => {
        await tx.enrollment.addNonce({ nonce: tokenHash(token), serial: device.serial, certFingerprint: cert.fingerprintSha256, expiresAt });
        await tx.audit.append({
          action: PENDING_ACTION, actor: ACTOR, subject: device.serial,
          detail: {
            certificateId: cert.fingerprintSha256, certificateSerial: cert.serialHex, certificateDer: Buffer.from(cert.der).toString('base64'),
            publicKey: Buffer.from(publicKey).toString('hex'), expiresAt, current,
          },
        });
      });
      // certificateId: the lowercase hex SHA-256 of the DER, as AWS's.
      return { certificateId: cert.fingerprintSha256, certificatePem: toPem(cert.der), certificateOwnershipToken: token };
    },

    async registerThing(device: DevicePeer, req: { templateName: string; token: string; parameters: Record<string, string>; clientId: string }): Promise<RegisteredThing> {
      throttle(device.serial);
      const template = d.config.templates[req.templateName];
      if (!template) throw new KeylineError('TEMPLATE_UNKNOWN', `template '${req.templateName}' does not exist`);
      const invalid = (why: string) => new KeylineError('OWNERSHIP_TOKEN_INVALID', `certificateOwnershipToken: ${why}`);
      if (!TOKEN.test(req.token)) throw invalid('not a token this server issued');
      const pending = await d.store.transaction(async (tx) => {
        const n = await tx.enrollment.useNonce(tokenHash(req.token));
        if (!n) throw invalid('unknown or expired');
        if (n.used) throw invalid('already used');
        if (n.serial !== device.serial) throw invalid('issued to another device');
        if (new Date(n.expiresAt) <= now()) throw invalid('expired');
        // The newest pending record of this certificate (the unit's story is short: 200 records reach back far).
        for (const r of (await tx.audit.listBySubject([device.serial], 200)).reverse()) {
          if (r.action !== PENDING_ACTION || !r.detail) continue;
          const detail = JSON.parse(r.detail) as PendingDetail;
          if (detail.certificateId === n.certFingerprint) return detail;
        }
        throw invalid('its certificate is no longer pending');
      });
      const { unit, product } = await standing(device);
      // A current certificate answered earlier must still be the unit's (never activated back over a newer one).
      const alreadyCurrent = pending.certificateSerial === unit.certificateSerial;
      if (pending.current && !alreadyCurrent) throw invalid("its certificate is no longer the unit's current one");
      const facts = { serial: device.serial, workOrder: unit.workOrder, product };
      const refused = templateRefusal(req.templateName, template, facts);
      if (refused) throw new KeylineError('PROVISIONING_DENIED', refused);
      const der = Buffer.from(pending.certificateDer, 'base64');
      let parameters = req.parameters;
      if (template.preProvisioningHook) {
        const overrides = await callPreProvisioningHook(template.preProvisioningHook.url, template.preProvisioningHook.timeoutMs, {
          claimCertificateId: createHash('sha256').update(device.certificateDer).digest('hex'), certificateId: pending.certificateId, certificatePem: toPem(der),
          templateArn: `keyline:provisioningtemplate/${req.templateName}`, clientId: req.clientId, parameters,
        }, d.fetch);
        parameters = { ...parameters, ...overrides };
      }
      // The enrollment, the thing record and the activation commit together or not at all.
      const enroll = await d.enrollment.verifiedEnrollment(device.serial);
      let outcome: { enrolled: EnrollResult; thingName: string } | undefined;
      const registered = async (tx: Tx) => {
        const enrolled = await enroll(tx);
        const thingName = thingNameOf(template.thingName, { ...facts, group: enrolled.group }, parameters);
        await tx.audit.append({ action: 'aws-fleet.thing-registered', actor: ACTOR, subject: device.serial, detail: { template: req.templateName, thingName, certificateId: pending.certificateId, group: enrolled.group } });
        outcome = { enrolled, thingName };
      };
      if (alreadyCurrent) {
        await d.store.transaction(async (tx) => {
          // Nothing to activate: the certificate must still be the unit's, now under the write lock.
          if ((await tx.units.getBySerial(device.serial))?.certificateSerial !== pending.certificateSerial) throw invalid("its certificate is no longer the unit's current one");
          await registered(tx);
        });
      } else {
        await d.provisioning.activatePendingReissue(
          { serial: device.serial as ChipSerial, publicKey: Buffer.from(pending.publicKey, 'hex'), presentedCertificateSerial: device.certificateSerial, allowKeyReuse: d.config.allowKeyReuse, revokeSuperseded: template.revokeSuperseded },
          { der, serialHex: pending.certificateSerial, fingerprintSha256: pending.certificateId },
          `${ACTOR}:${device.serial}`,
          registered,
        );
      }
      return { deviceConfiguration: deviceConfigurationOf(outcome!.enrolled), thingName: outcome!.thingName };
    },
  };
}

/** The fleet provisioning operations. */
export type FleetService = ReturnType<typeof createFleetService>;
