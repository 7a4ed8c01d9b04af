/**
 * Builds the enrollment part from the server config (called by server/main.ts): the config
 * signer, the embedded broker (or a connection to the external one) and the service.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeylineError } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';
import type { Logger } from '../../common/log.js';
import type { Config } from '../config.js';
import type { KeyStore } from '../hsm/key-store.js';
import type { Issuer } from '../ca/profiles.js';
import type { Store } from '../store/store.js';
import { AedesBroker } from './aedes-broker.js';
import { ensureConfigSigner } from './config-signer.js';
import { storeAdmission } from './device-admission.js';
import { DeviceTrust } from './device-trust.js';
import { createEnrollment } from './enrollment.js';
import { createEnrollmentService, type EnrollmentService } from './enrollment-service.js';
import { createMultiCaEnrollment } from './multi-ca-enrollment.js';
import { authorityKeyIdOf } from '../ca/key-id.js';
import type { IssuingCas } from '../services/issuing-cas.js';
import { MqttBroker } from './mqtt-broker.js';

/** Inputs from the composition root. */
export interface StartEnrollmentInput {
  config: Config;
  keyStore: KeyStore;
  issuer: Issuer;
  rootDer: Uint8Array;
  issuingDer: Uint8Array;
  store: Store;
  log: Logger;
  /**
   * Every issuing CA (several after a rotation, issue 19): devices of each enroll, answered with
   * a config signer their own CA certified. Absent: `issuer` alone.
   */
  issuingCas?: IssuingCas;
}

/** A running enrollment part. */
export interface RunningEnrollment {
  /** The broker devices connect to (the embedded listener, or the configured URL). */
  mqttUrl: string;
  /** The service, for the other device entry points (the cloud protocols, issue 16). */
  service: EnrollmentService;
  close(): Promise<void>;
}

/** Starts the broker (when embedded), the config signer and the service. */
export async function startEnrollment(i: StartEnrollmentInput): Promise<RunningEnrollment> {
  const e = i.config.enroll;
  const org = i.issuer.cert.subjectName.getField('O')[0] ?? 'Keyline';
  // In cluster mode only worker 1 may create the key; the others wait for it (config-signer.ts).
  const mayGenerate = !cluster.isWorker || cluster.worker?.id === 1;
  // Replicas (separate servers on one database and token) take a database lease for it instead.
  const exclusive = <T>(fn: () => Promise<T>) => underLease(i.store, 'config-signer-keygen', fn);
  const serviceOf = async (issuer: Issuer, issuingDer: Uint8Array) => createEnrollmentService({
    store: i.store, trust: new DeviceTrust(issuingDer), groups: e.groups, defaultGroup: e.defaultGroup, nonceTtlSeconds: e.nonceTtlSeconds,
    configSigner: await ensureConfigSigner({ keyStore: i.keyStore, tokenLabel: i.config.hsm.tokenLabel, label: e.configSignerLabel, issuer, org, mayGenerate, exclusive }),
  });
  const service = i.issuingCas ? await multiCa(i.issuingCas, i.store, serviceOf) : await serviceOf(i.issuer, i.issuingDer);
  // The broker trusts device certificates of every CA loaded at start (a CA added later: after a restart).
  const ca = [toPem(i.rootDer), toPem(i.issuingDer), ...(i.issuingCas?.all().map((c) => toPem(c.der)).filter((p) => p !== toPem(i.issuingDer)) ?? [])];
  let embedded: AedesBroker | undefined;
  let broker: MqttBroker;
  if (e.broker === 'embedded') {
    embedded = await AedesBroker.start({
      host: e.host, port: e.port, log: i.log,
      tls: { key: readFileSync(i.config.server.tlsKey), cert: readFileSync(i.config.server.tlsCert, 'utf8') + ca[1], ca },
      isRevoked: async (s) => (await i.store.transaction((tx) => tx.revocations.get(s), { readOnly: true })) !== null,
      admission: storeAdmission(i.store), limits: e.limits,
    });
    const b = embedded;
    broker = await MqttBroker.connect({ stream: () => b.serviceStream(), protocolVersion: 4 });
  } else {
    broker = await MqttBroker.connect({
      url: e.broker, protocolVersion: e.protocolVersion,
      tls: { ca, ...(e.clientCert ? { cert: readFileSync(e.clientCert) } : {}), ...(e.clientKey ? { key: readFileSync(e.clientKey) } : {}) },
    });
  }
  try {
    await createEnrollment({ broker, service, rateLimitPerMinute: e.rateLimitPerMinute, log: i.log, ...(embedded ? {} : { shareGroup: 'keyline-enroll' }) });
  } catch (err) {
    await broker.close();
    await embedded?.close();
    throw err;
  }
  return {
    mqttUrl: embedded ? embedded.url : e.broker,
    service,
    async close() {
      await broker.close();
      await embedded?.close();
    },
  };
}

/** Routes devices to one enrollment service per issuing CA, made on first use (multi-ca-enrollment.ts). */
async function multiCa(cas: IssuingCas, store: Store, serviceOf: (issuer: Issuer, der: Uint8Array) => Promise<EnrollmentService>): Promise<EnrollmentService> {
  const services = new Map<string, Promise<EnrollmentService>>();
  const routed = createMultiCaEnrollment({
    keyIds: () => cas.all().map((c) => c.keyId),
    serviceFor(keyId) {
      let s = services.get(keyId);
      if (!s) {
        const ca = cas.all().find((c) => c.keyId === keyId)!;
        s = serviceOf({ signer: ca.signer, cert: ca.cert }, ca.der);
        s.catch(() => services.delete(keyId));
        services.set(keyId, s);
      }
      return s;
    },
    keyIdOf: authorityKeyIdOf,
    revoked: (keyId) => {
      const ca = cas.all().find((c) => c.keyId === keyId);
      return !!ca && cas.revocationOf(ca) !== null;
    },
    unitCertificate: async (serial) => (await store.transaction((tx) => tx.units.getBySerial(serial), { readOnly: true }))?.certificateDer ?? null,
  });
  // The first CA's config signer is made at start, as with one CA (the key is generated once, here).
  await routed.ready(cas.all()[0]!.keyId);
  return routed;
}

/** Runs fn while holding database lease `name` (waiting up to 60 s for it; it lapses after 30 s if this process dies). */
async function underLease<T>(store: Store, name: string, fn: () => Promise<T>): Promise<T> {
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = Date.now();
    if (await store.transaction((tx) => tx.leases.acquire(name, holder, new Date(now).toISOString(), new Date(now + 30_000).toISOString()))) break;
    if (now > deadline) throw new KeylineError('LEASE_HELD', `lease ${name} still held by another process after 60 s`);
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    await store.transaction((tx) => tx.leases.release(name, holder));
  }
}
