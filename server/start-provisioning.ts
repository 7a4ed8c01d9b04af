/**
 * The provisioning half of the composition root (called by main.ts): the registries from config,
 * the outbox worker that delivers to them (every process leases jobs from the shared outbox, so
 * one per worker is safe), and the provisioning service over the device issuer.
 */
import type { Logger } from '../common/log.js';
import type { Config } from './config.js';
import type { DeviceIssuer } from './ca/device-issuer.js';
import { loadManufacturerRoots } from './ca/manufacturer-roots.js';
import { createOutboxWorker } from './registry/outbox-worker.js';
import { createRegistries } from './registry/registries.js';
import type { IssuingCas } from './services/issuing-cas.js';
import { createProvisioning, type Provisioning } from './services/provisioning.js';
import type { Store } from './store/store.js';

/** What startProvisioning needs from the composition root. */
export interface ProvisioningStackDeps {
  config: Config;
  store: Store;
  issuer: DeviceIssuer;
  issuingPem: string;
  /** Every loaded issuing CA: a unit is preregistered with the CA that signed it (issue 19). */
  issuingCas: Pick<IssuingCas, 'forCertificate'>;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

/** The running provisioning parts; close() stops the outbox. */
export interface ProvisioningStack {
  provisioning: Provisioning;
  close(): Promise<void>;
}

/** Builds the registries, starts the outbox and returns the service. */
export function startProvisioning(d: ProvisioningStackDeps): ProvisioningStack {
  const { config, store, log } = d;
  const registries = createRegistries(config, { store, issuingCaPem: d.issuingPem, issuingCas: d.issuingCas, env: d.env, log: log.child({ area: 'registry' }) });
  const o = config.outbox;
  const outbox = createOutboxWorker({
    store, registries, log: log.child({ area: 'outbox' }),
    leaseMs: o.leaseSeconds * 1000, maxAttempts: o.maxAttempts, baseDelayMs: o.baseDelayMs, maxDelayMs: o.maxDelayMs,
    awaitingCheckMs: o.awaitingCheckSeconds * 1000, intervalMs: o.intervalMs, batch: o.batch,
  });
  outbox.start();
  const provisioning = createProvisioning({
    store, issuer: d.issuer, log: log.child({ area: 'provisioning' }),
    registryNames: registries.map((r) => r.name), outbox, confirmWaitMs: o.confirmWaitMs,
    manufacturerRoots: loadManufacturerRoots(config.ca.manufacturerRoots),
  });
  return { provisioning, close: async () => outbox.stop() };
}
