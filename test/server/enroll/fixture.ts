/**
 * The enrollment test bed: chips provisioned through the station line against an in-process
 * backend (test/firmware-sim/provisioned.ts), a soft-key config signer from the same issuing CA,
 * the enrollment service over that store, and, on demand, the embedded broker with the service
 * subscribed, admitting devices without a certificate by the store (as the server does).
 * Devices are driven by device-client.ts.
 */
import type { Test } from 'tap';
import { toPem } from '../../../common/pem.js';
import { createConfigSignerCert, createServerTlsCert, type Issuer } from '../../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../../server/ca/software-key.js';
import { AedesBroker } from '../../../server/enroll/aedes-broker.js';
import type { BrokerLimits } from '../../../server/enroll/broker-limits.js';
import { storeAdmission } from '../../../server/enroll/device-admission.js';
import { configSignerOf, type ConfigSigner } from '../../../server/enroll/config-signer.js';
import { DeviceTrust } from '../../../server/enroll/device-trust.js';
import { createEnrollment } from '../../../server/enroll/enrollment.js';
import { createEnrollmentService, type EnrollmentService, type EnrollmentServiceDeps } from '../../../server/enroll/enrollment-service.js';
import { MqttBroker } from '../../../server/enroll/mqtt-broker.js';
import type { Atecc608Chip } from '../../../emulator/atecc608/chip.js';
import type { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';
import { provisionChips } from '../../firmware-sim/provisioned.js';

/** Everything a test needs. */
export interface EnrollBed {
  store: SqliteStore;
  chips: Atecc608Chip[];
  issuing: Issuer;
  issuingDer: Uint8Array;
  rootPem: string;
  configSigner: ConfigSigner;
  service: EnrollmentService;
  /** Builds another service over the same store (other options, e.g. a fake clock). */
  serviceWith(o: Partial<EnrollmentServiceDeps>): EnrollmentService;
}

/** Provisions `n` chips and builds the service. */
export async function makeEnrollBed(t: Test, n: number, o: Partial<EnrollmentServiceDeps> = {}): Promise<EnrollBed> {
  const p = await provisionChips(t, n);
  const issuingDer = new Uint8Array(p.issuing.cert.rawData);
  const csSigner = createSoftSigner(undefined, 'soft:config-signer');
  const csCert = await createConfigSignerCert({ issuer: p.issuing, org: 'Keyline Test', spki: await csSigner.publicKeySpki() });
  const configSigner = configSignerOf(csSigner, new Uint8Array(csCert.rawData));
  const serviceWith = (x: Partial<EnrollmentServiceDeps>) => createEnrollmentService({
    store: p.backend.store as SqliteStore, trust: new DeviceTrust(issuingDer), configSigner,
    groups: [], defaultGroup: { group: 'default', config: { telemetryIntervalS: 60 } }, nonceTtlSeconds: 60, ...o, ...x,
  });
  return { store: p.backend.store as SqliteStore, chips: p.chips, issuing: p.issuing, issuingDer, rootPem: p.backend.rootPem, configSigner, service: serviceWith({}), serviceWith };
}

/** The embedded broker with the service subscribed; closed at teardown. */
export async function startEmbedded(t: Test, bed: EnrollBed, o: { rateLimitPerMinute?: number; service?: EnrollmentService; limits?: Partial<BrokerLimits> } = {}): Promise<{ url: string; broker: AedesBroker }> {
  const key = generateSoftwareKey();
  const cert = await createServerTlsCert({ issuer: bed.issuing, org: 'Keyline Test', spki: key.spki });
  const ca = [bed.rootPem, toPem(bed.issuingDer)];
  const broker = await AedesBroker.start({
    host: '127.0.0.1', port: 0, tls: { key: key.privateKeyPem, cert: toPem(new Uint8Array(cert.rawData)) + ca[1], ca },
    isRevoked: async (s) => (await bed.store.transaction((tx) => tx.revocations.get(s), { readOnly: true })) !== null,
    admission: storeAdmission(bed.store), ...(o.limits ? { limits: o.limits } : {}),
  });
  const client = await MqttBroker.connect({ stream: () => broker.serviceStream(), protocolVersion: 4 });
  const enrollment = await createEnrollment({ broker: client, service: o.service ?? bed.service, rateLimitPerMinute: o.rateLimitPerMinute ?? 600 });
  t.teardown(async () => {
    await enrollment.close();
    await broker.close();
  });
  return { url: broker.url, broker };
}
