/**
 * The EST half of the composition root (called by main.ts): the `est` section's labels with their
 * birth CAs read and their password hashes resolved (secret references, never logged), over the
 * provisioning service and the approval queue.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { KeylineError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { fromPemAll } from '../common/pem.js';
import type { Metrics } from './api/metrics.js';
import type { RevocationCheck } from './api/middleware/mtls.js';
import { resolveSecret, type Config } from './config.js';
import type { EstDeps, EstLabel } from './est/est-deps.js';
import { parsePasswordHash } from './est/password-hash.js';
import { createEnrollmentApprovals } from './services/enrollment-approvals.js';
import type { Provisioning } from './services/provisioning.js';
import type { Store } from './store/store.js';

/** What startEst needs from the composition root. */
export interface EstStackDeps {
  config: Config;
  env: NodeJS.ProcessEnv;
  store: Store;
  provisioning: Provisioning;
  caChainPem: () => string;
  isRevoked: RevocationCheck;
  metrics: Metrics;
  log: Logger;
}

/** The EST routes' deps, or undefined when keyline.json has no enabled `est` section. */
export function startEst(d: EstStackDeps): EstDeps | undefined {
  const est = d.config.est;
  if (!est?.enabled) return undefined;
  const labels = new Map<string, EstLabel>();
  for (const [name, l] of Object.entries(est.labels)) {
    const field = `est.labels.${name}`;
    const birthCas = l.auth.birthCas.flatMap((file) => readBirthCas(resolve(d.config.baseDir, file), `${field}.auth.birthCas`));
    const basic = l.auth.basic && {
      username: l.auth.basic.username,
      hash: parsePasswordHash(resolveSecret(l.auth.basic.passwordHash, d.config.baseDir, d.env, `${field}.auth.basic.passwordHash`), `${field}.auth.basic.passwordHash`),
    };
    labels.set(name, {
      name, workOrder: l.workOrder, stations: l.auth.stations, birthCas, ...(basic ? { basic } : {}),
      manualApproval: l.manualApproval, allowKeyReuse: l.allowKeyReuse, revokeSuperseded: l.revokeSuperseded, requirePopLinking: l.requirePopLinking, csrattrs: l.csrattrs, base64LineLength: l.base64LineLength,
    });
  }
  d.log.info({ labels: [...labels.keys()], defaultLabel: est.defaultLabel }, 'est enabled');
  return {
    labels, ...(est.defaultLabel ? { defaultLabel: est.defaultLabel } : {}), realm: est.realm, retryAfterSeconds: est.retryAfterSeconds,
    provisioning: d.provisioning, approvals: createEnrollmentApprovals({ store: d.store, now: () => new Date() }),
    caChainPem: d.caChainPem, isRevoked: d.isRevoked, metrics: d.metrics, log: d.log.child({ area: 'est' }),
  };
}

function readBirthCas(path: string, field: string): X509Certificate[] {
  let certs: Uint8Array[];
  try {
    certs = fromPemAll(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KeylineError('CONFIG_INVALID', `${field}: cannot read ${path}`, { cause: err });
  }
  if (certs.length === 0) throw new KeylineError('CONFIG_INVALID', `${field}: ${path} holds no PEM certificate`);
  return certs.map((der) => new X509Certificate(der));
}
