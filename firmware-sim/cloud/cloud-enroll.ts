/**
 * One enrollment through a cloud protocol, on a powered device: the exchange, the device's
 * checks of what it received, and what it stores.
 *
 * AWS Fleet Provisioning: a CSR for the chip key (signed in the chip) → CreateCertificateFromCsr
 * → the new certificate must carry the chip's key and be issued by the signer certificate the
 * chip holds → RegisterThing → the deviceConfiguration's signed configuration (`keyline.*`)
 * verified. The device keeps the new certificate and presents it from then on (AWS's device
 * reconnects with it; the line certificate it superseded may be revoked).
 * DPS: register and poll until assigned → the signed configuration in registrationState.payload
 * verified.
 * The configuration is checked exactly as in the Keyline protocol (config-verify.ts); an
 * answer without one (a real cloud) is stored as received, marked unsigned.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { KeylineError } from '../../common/errors.js';
import type { PoweredDevice } from '../boot.js';
import { verifyConfiguration } from '../config-verify.js';
import { saveDeviceState } from '../device-state.js';
import { rawP256Key } from '../firmware-trust.js';
import { AwsFleetClient } from './aws-fleet-client.js';
import { chipKeyOf, tlsIdentityOf } from './chip-key.js';
import type { EnrollProtocol } from './cloud-errors.js';
import { presentedCertificate } from './cloud-state.js';
import { chipCsr } from './csr.js';
import { dpsRegister } from './dps-client.js';

/** The dev config's template and ID scope (server/ceremony/dev-config.ts), the defaults of a simulated device. */
export const DEV_FLEET_TEMPLATE = 'keyline-dev';
export const DEV_ID_SCOPE = '0ne0000DEV1';

/** How to enroll through a cloud protocol. */
export interface CloudEnrollOptions {
  protocol: Exclude<EnrollProtocol, 'keyline'>;
  /** The endpoint, `mqtts://host:port`. */
  url: string;
  /** AWS: the provisioning template (default keyline-dev). */
  template?: string;
  /** DPS: the ID scope (default the dev scope). */
  idScope?: string;
  timeoutMs?: number;
  /** Write the device state (default true); a benchmark keeps it in memory. */
  persist?: boolean;
  now?: () => Date;
}

/** What the enrollment ended in. */
export interface CloudEnrollResult {
  group: string;
  reenrolled: boolean;
  /** SHA-256 (hex) of the certificate the device holds now. */
  fingerprint: string;
  connectMs: number;
  enrollMs: number;
  thingName?: string;
  certificateId?: string;
  assignedHub?: string;
  deviceId?: string;
  /** DPS operation-status polls. */
  polls?: number;
}

/** The signed configuration as both protocols carry it. */
interface SignedConfig {
  group: string;
  config: Record<string, unknown>;
  configSignature: string;
  configSignerCertificate: string;
  reenrolled: boolean;
}

/** Enrolls `d` through `o.protocol`; refusals throw CloudRefusedError, device-side checks KeylineError. */
export async function enrollCloud(d: PoweredDevice, o: CloudEnrollOptions): Promise<CloudEnrollResult> {
  const now = o.now ?? (() => new Date());
  const r = o.protocol === 'aws-fleet' ? await viaAwsFleet(d, o) : await viaDps(d, o);
  const { signed } = r;
  const at = now().toISOString();
  const cloud = { ...d.state.cloud, ...r.cloud(at) };
  try {
    if (signed) verifyConfiguration(signed, { signer: d.signer, root: d.trust.root }, now().getTime());
  } catch (err) {
    // The assignment stands whatever the configuration was (RegisterThing already activated the
    // new certificate, and may have revoked the line certificate): the device keeps it, and only
    // the configuration is refused.
    d.state = { ...d.state, cloud };
    if (o.persist ?? true) await saveDeviceState(d.stateFile, d.state);
    throw err;
  }
  const before = d.state.enrollment;
  d.state = {
    ...d.state,
    enrollment: {
      group: signed?.group ?? r.result.thingName ?? r.result.assignedHub ?? '', config: signed?.config ?? r.unsigned, configSignature: signed?.configSignature ?? '',
      configSignerCertificate: signed?.configSignerCertificate ?? '', fingerprint: r.result.fingerprint, enrolledAt: r.result.reenrolled && before ? before.enrolledAt : at,
      lastAuthenticatedAt: at, counter: before?.counter ?? d.identity.counter, reauthentications: (before?.reauthentications ?? 0) + (r.result.reenrolled ? 1 : 0),
    },
    cloud,
  };
  if (o.persist ?? true) await saveDeviceState(d.stateFile, d.state);
  return r.result;
}

/** The certificate the device presents (cloud-state.ts presentedCertificate). */
export function currentCertificateDer(d: PoweredDevice): Uint8Array {
  return presentedCertificate(d.state, { der: d.identity.deviceDer, fingerprint: d.identity.fingerprint }).der;
}

type Via = { result: CloudEnrollResult; signed: SignedConfig | null; unsigned: unknown; cloud: (at: string) => NonNullable<PoweredDevice['state']['cloud']> };

async function viaAwsFleet(d: PoweredDevice, o: CloudEnrollOptions): Promise<Via> {
  const serial = d.identity.serialHex;
  const t0 = performance.now();
  const client = await AwsFleetClient.connect({ url: o.url, rootCaPem: d.trust.spec.rootCertPem, tls: tlsIdentityOf(d, currentCertificateDer(d)), clientId: serial, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
  const t1 = performance.now();
  try {
    const created = await client.createCertificateFromCsr(await chipCsr(chipKeyOf(d), serial));
    const der = checkIssuedToChip(d, created.certificatePem, created.certificateId);
    const template = o.template ?? DEV_FLEET_TEMPLATE;
    const thing = await client.registerThing(template, created.certificateOwnershipToken, { SerialNumber: serial });
    const signed = signedFromDeviceConfiguration(thing.deviceConfiguration);
    const fingerprint = createHash('sha256').update(der).digest('hex');
    return {
      result: {
        group: signed?.group ?? thing.thingName, reenrolled: signed?.reenrolled ?? false, fingerprint, connectMs: t1 - t0, enrollMs: performance.now() - t1,
        thingName: thing.thingName, certificateId: created.certificateId,
      },
      signed, unsigned: thing.deviceConfiguration,
      cloud: (at) => ({ certificatePem: created.certificatePem.trim() + '\n', awsFleet: { url: o.url, thingName: thing.thingName, certificateId: fingerprint, at } }),
    };
  } finally {
    await client.close();
  }
}

async function viaDps(d: PoweredDevice, o: CloudEnrollOptions): Promise<Via> {
  const serial = d.identity.serialHex;
  const t0 = performance.now();
  const { state, polls, connectMs } = await dpsRegister({
    url: o.url, rootCaPem: d.trust.spec.rootCertPem, tls: tlsIdentityOf(d, currentCertificateDer(d)), idScope: o.idScope ?? DEV_ID_SCOPE, registrationId: serial,
    payload: { firmware: 'keyline-firmware-sim', chip: d.chip.kind }, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
  if (state.registrationId !== serial) throw new KeylineError('BAD_SERVER_RESPONSE', `DPS assigned registration ${state.registrationId}, this device is ${serial}`);
  const signed = signedFromPayload(state.payload);
  return {
    result: {
      group: signed?.group ?? state.assignedHub, reenrolled: signed?.reenrolled ?? false, fingerprint: createHash('sha256').update(currentCertificateDer(d)).digest('hex'),
      connectMs, enrollMs: performance.now() - t0 - connectMs, assignedHub: state.assignedHub, deviceId: state.deviceId, polls,
    },
    signed, unsigned: state.payload ?? {},
    cloud: (at) => ({ dps: { url: o.url, assignedHub: state.assignedHub, deviceId: state.deviceId, ...(typeof state.substatus === 'string' ? { substatus: state.substatus } : {}), at } }),
  };
}

/**
 * The certificate CreateCertificateFromCsr answered, checked before the device relies on it: for
 * the chip's own key (a certificate for another key is useless to it), issued and signed by the
 * signer certificate the chip holds, and named by its SHA-256 as AWS names certificates.
 */
function checkIssuedToChip(d: PoweredDevice, pem: string, certificateId: string): Uint8Array {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new KeylineError('BAD_SERVER_RESPONSE', 'CreateCertificateFromCsr answered a certificatePem that is not a certificate', { cause: err });
  }
  const der = new Uint8Array(cert.raw);
  if (Buffer.compare(rawP256Key(cert), Buffer.from(d.identity.publicKey)) !== 0) throw new KeylineError('CHAIN_INVALID', `certificate ${cert.serialNumber} is not for chip ${d.identity.serialHex}'s key`);
  if (!cert.checkIssued(d.signer) || !cert.verify(d.signer.publicKey)) throw new KeylineError('CHAIN_INVALID', `certificate ${cert.serialNumber} is not issued by ${d.signer.subject}`);
  if (createHash('sha256').update(der).digest('hex') !== certificateId.toLowerCase()) throw new KeylineError('BAD_SERVER_RESPONSE', `certificateId ${certificateId} is not the SHA-256 of the certificate`);
  return der;
}

/** The `keyline.*` members of a RegisterThing deviceConfiguration (fleet-templates.ts on the server), or null. */
function signedFromDeviceConfiguration(c: Record<string, string>): SignedConfig | null {
  const doc = c['keyline.config'];
  if (doc === undefined || c['keyline.configSignature'] === undefined || c['keyline.configSignerCertificate'] === undefined) return null;
  let config: unknown;
  try {
    config = JSON.parse(doc);
  } catch (err) {
    throw new KeylineError('CONFIG_SIGNATURE_INVALID', 'deviceConfiguration keyline.config is not JSON', { cause: err });
  }
  return asSigned({ group: c['keyline.group'], config, configSignature: c['keyline.configSignature'], configSignerCertificate: c['keyline.configSignerCertificate'], reenrolled: c['keyline.reenrolled'] === 'true' });
}

/** The signed configuration in a DPS registrationState.payload (dps-registrations.ts on the server), or null. */
function signedFromPayload(p: unknown): SignedConfig | null {
  if (typeof p !== 'object' || p === null || !('configSignature' in p)) return null;
  return asSigned(p as Record<string, unknown>);
}

function asSigned(s: Record<string, unknown>): SignedConfig {
  const { group, config, configSignature, configSignerCertificate } = s;
  if (typeof group !== 'string' || typeof config !== 'object' || config === null || Array.isArray(config) || typeof configSignature !== 'string' || typeof configSignerCertificate !== 'string') {
    throw new KeylineError('CONFIG_SIGNATURE_INVALID', 'the signed configuration lacks its group, document, signature or signer certificate');
  }
  return { group, config: config as Record<string, unknown>, configSignature, configSignerCertificate, reenrolled: s.reenrolled === true };
}
