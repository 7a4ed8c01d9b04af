/**
 * The composition root: config -> HSM key store -> start-up guards -> store -> issuer ->
 * services -> HTTPS listener. The only place that knows every concrete implementation.
 */
import { createLogger, type Logger } from '../common/log.js';
import { toPem } from '../common/pem.js';
import { loadConfig, type Config, type Secrets } from './config.js';
import { createApp } from './api/app.js';
import { listenHttps, type HttpsListener } from './api/https-listener.js';
import { Metrics } from './api/metrics.js';
import { openCa } from './open-ca.js';
import { openStore } from './store/open-store.js';
import { startProvisioning } from './start-provisioning.js';
import { startEnrollment } from './enroll/start-enrollment.js';
import cluster from 'node:cluster';
import { startRevocation, type RevocationStack } from './start-revocation.js';
import { verifyAuditChain } from './audit/audit-log.js';
import { createReconcile } from './services/reconcile.js';
import { caMetricLines } from './api/ca-metrics.js';
import { startCaLifecycle } from './start-ca-lifecycle.js';
import { startEst } from './start-est.js';
import { ChangeBus, observeChanges } from './services/change-bus.js';
import { startConsole } from './start-console.js';
import { startCloudEnroll } from './cloud-enroll/start-cloud-enroll.js';

/** A running server. */
export interface RunningServer {
  apiUrl: string;
  /** The MQTT broker devices enroll through (absent when enrollment is disabled or runs in another worker). */
  mqttUrl?: string;
  /** The AWS IoT Fleet Provisioning endpoint (issue 16), when enabled. */
  awsFleetUrl?: string;
  /** The Azure DPS endpoint (issue 16), when enabled. */
  dpsUrl?: string;
  /** The plain-HTTP listener serving the CRL and OCSP. */
  publicUrl: string;
  close(): Promise<void>;
}

/** Options for startServer. */
export interface StartOptions {
  configFile: string;
  /** Environment for config overrides (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

/** Loads the config and starts every listener; resolves when ready to serve. */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const env = { ...process.env, ...opts.env };
  const { config, secrets } = loadConfig(opts.configFile, env);
  const log = opts.log ?? createLogger({ level: config.log.level });
  return start(config, secrets, log, env);
}

async function start(config: Config, secrets: Secrets, log: Logger, env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const ca = await openCa(config, secrets, { log: log.child({ area: 'hsm' }) });
  const { keyStore, signer, issuing, rootDer, rootPem, issuingDer, issuingPem } = ca;
  const closers: Array<() => Promise<void> | void> = [() => ca.close()];
  try {
    // Every write of this process goes through the observed store: its committed audit records feed the console's live views.
    const bus = new ChangeBus();
    const store = observeChanges(await openStore(config.store.url), bus);
    closers.push(() => store.close());
    // Which CA issues is read from the store (keyline ca activate); a CA loaded later is served by the revocation stack too.
    // eslint-disable-next-line prefer-const -- assigned below: the CA lifecycle's onLoaded needs it, and the stack needs the CAs
    let revocationStack: RevocationStack | undefined;
    // eslint-disable-next-line prefer-const -- assigned below, once the API listens
    let https: HttpsListener | undefined;
    const trustedPems = () => [rootPem, ...cas.issuingCas.all().map((c) => toPem(c.der))];
    const cas = await startCaLifecycle({
      config, ca, store, log,
      onLoaded: (loaded) => {
        // Clients certified by a CA loaded on activation (EST re-enrollment, stations) are trusted from then on.
        https?.trust(trustedPems());
        void revocationStack?.addCa(loaded).catch((err) => log.error({ err }, 'cannot serve the CRL and OCSP of a loaded CA'));
      },
    });
    closers.push(() => cas.close());
    const { provisioning, close: stopProvisioning } = startProvisioning({ config, store, issuer: cas.issuingCas.issuer(), issuingPem, issuingCas: cas.issuingCas, env, log });
    closers.push(stopProvisioning);
    revocationStack = await startRevocation({
      config, keyStore, store, log, cas: cas.revocationCas(),
      rootCrl: () => cas.issuingCas.rootCrl(), rootCrlPaths: () => cas.rootCrlPaths(),
    });
    closers.push(() => revocationStack!.close());
    // Enrollment runs in one process per server: in cluster mode worker 1 (the others report its
    // broker URL, cli.ts). The embedded broker's sessions live in one process anyway; with an
    // external broker a second subscriber in the same server (shared subscription) only adds
    // cost: each worker warms its own certificate and key caches, groups half as many writes, and
    // on SQLite the workers take the write lock in turn, each start of a transaction finding the
    // other's commit and dropping its page cache (bench:enroll, issue 13: ~1.5x the server CPU
    // per enrollment, and half the rate when the cores are busy). Replicas still share the load.
    let mqttUrl: string | undefined;
    let cloud: { awsFleetUrl?: string; dpsUrl?: string } = {};
    if (config.enroll.enabled && (!cluster.isWorker || cluster.worker?.id === 1)) {
      const enrollment = await startEnrollment({ config, keyStore, issuer: { signer, cert: issuing }, rootDer, issuingDer, store, issuingCas: cas.issuingCas, log: log.child({ area: 'enroll' }) });
      closers.push(() => enrollment.close());
      mqttUrl = enrollment.mqttUrl;
      // The cloud protocols are adapters over the same enrollment and provisioning services (issue 16).
      const caDers = [rootDer, issuingDer, ...cas.issuingCas.all().map((c) => c.der).filter((d) => !Buffer.from(d).equals(Buffer.from(issuingDer)))];
      const running = await startCloudEnroll({ config, store, enrollment: enrollment.service, provisioning, caDers, log });
      closers.push(() => running.close());
      cloud = running;
    }
    const auditPage = (afterSeq: number, limit: number) => store.transaction((tx) => tx.audit.list({ afterSeq, limit }), { readOnly: true });
    const consoleStack = startConsole({
      config, store, bus, revocation: revocationStack!.revocation, listWorkOrders: () => provisioning.listWorkOrders(),
      auditPage, crl: () => revocationStack!.crl.current(), log,
    });
    closers.push(() => consoleStack.close());
    const metrics = new Metrics();
    metrics.collect(() => caMetricLines(cas.issuingCas.status()));
    const chainPem = toPem(issuingDer) + toPem(rootDer);

    const isRevoked = async (serial: string) => (await store.transaction((tx) => tx.revocations.get(serial), { readOnly: true })) !== null;
    const est = startEst({ config, env, store, provisioning, caChainPem: () => cas.issuingCas.chainFor(), isRevoked, metrics, log });
    const app = createApp({
      provisioning,
      ...(est ? { est } : {}),
      revocation: revocationStack!.revocation,
      oversight: {
        auditPage,
        verifyAudit: () => verifyAuditChain(store),
        reconcile: createReconcile({ store }),
      },
      chainPem,
      chainFor: (der) => cas.issuingCas.chainFor(der),
      auth: {
        isRevoked,
        onAuthenticated: (p) => provisioning.registerStation(p.id, p.fingerprintSha256, p.role),
      },
      metrics,
      log: log.child({ area: 'api' }),
      bodyLimitBytes: config.server.bodyLimitBytes,
      console: consoleStack.services,
      health: async () => {
        const checks: Record<string, unknown> = {};
        try {
          await signer.publicKeySpki();
          checks.hsm = 'ok';
        } catch (err) {
          checks.hsm = (err as Error).message;
        }
        const lifecycle = cas.issuingCas.status();
        checks.ca = lifecycle;
        return { ok: checks.hsm === 'ok' && lifecycle.ok, checks };
      },
    });

    https = await listenHttps({
      host: config.server.host, port: config.server.port, tlsKeyFile: config.server.tlsKey, tlsCertFile: config.server.tlsCert,
      issuingPem, trustedPems: trustedPems(), handler: app.callback(), maxConnections: config.server.maxConnections, log,
    });
    const api = https;
    closers.push(() => api.close());
    const apiUrl = api.url;
    log.info({ apiUrl, mqttUrl, awsFleetUrl: cloud.awsFleetUrl, dpsUrl: cloud.dpsUrl }, 'listening');
    let closing: Promise<void> | undefined;
    return {
      apiUrl,
      ...(mqttUrl ? { mqttUrl } : {}),
      ...(cloud.awsFleetUrl ? { awsFleetUrl: cloud.awsFleetUrl } : {}),
      ...(cloud.dpsUrl ? { dpsUrl: cloud.dpsUrl } : {}),
      publicUrl: revocationStack!.publicUrl,
      // Idempotent: a second call waits for the first.
      close() {
        closing ??= (async () => { for (const c of closers.reverse()) await c(); })();
        return closing;
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c();
    throw err;
  }
}
