/**
 * The composition root: config -> HSM key store -> start-up guards -> store -> issuer ->
 * services -> HTTPS listener. The only place that knows every concrete implementation.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../common/log.js';
import { fromPemAll, toPem } from '../common/pem.js';
import { loadConfig, type Config, type Secrets } from './config.js';
import { createApp } from './api/app.js';
import { Metrics } from './api/metrics.js';
import { Pkcs11KeyStore } from './hsm/pkcs11-key-store.js';
import { checkCaAtStartup } from './ca/startup-checks.js';
import { createTemplateDeviceIssuer } from './ca/template-device-issuer.js';
import { openStore } from './store/open-store.js';
import { createProvisioning } from './services/provisioning.js';
import { startEnrollment } from './enroll/start-enrollment.js';
import cluster from 'node:cluster';
import { startRevocation } from './start-revocation.js';
import { createOutboxWorker } from './registry/outbox-worker.js';
import { createRegistries } from './registry/registries.js';
import { verifyAuditChain } from './audit/audit-log.js';
import { reconcile } from './services/reconcile.js';

/** A running server. */
export interface RunningServer {
  apiUrl: string;
  /** The MQTT broker devices enroll through (absent when enrollment is disabled or runs in another worker). */
  mqttUrl?: string;
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
  const rootPem = readFileSync(config.ca.rootCert, 'utf8');
  const issuingPem = readFileSync(config.ca.issuingCert, 'utf8');
  const [rootDer] = fromPemAll(rootPem);
  const [issuingDer] = fromPemAll(issuingPem);
  if (!rootDer || !issuingDer) throw new Error('root or issuing certificate file holds no certificate');

  const keyStore = Pkcs11KeyStore.open({
    module: config.hsm.module, softhsmConf: config.hsm.softhsmConf, tokenLabel: config.hsm.tokenLabel,
    pin: secrets.hsmPin, sessions: config.hsm.sessions, log: log.child({ area: 'hsm' }),
  });
  const closers: Array<() => Promise<void> | void> = [() => keyStore.close()];
  try {
    const { signer, issuing } = await checkCaAtStartup({ keyStore, rootDer, issuingDer, issuingKeyRef: config.hsm.issuingKey });
    const issuer = createTemplateDeviceIssuer({
      signer, issuingCaDer: issuingDer, crlUrl: config.ca.crlUrl, ocspUrl: config.ca.ocspUrl, validityYears: config.ca.deviceValidityYears,
    });
    const store = await openStore(config.store.url);
    closers.push(() => store.close());
    // Preregistration: every process leases jobs from the shared outbox, so running one per worker is safe.
    const registries = createRegistries(config, { store, issuingCaPem: issuingPem, env, log: log.child({ area: 'registry' }) });
    const o = config.outbox;
    const outbox = createOutboxWorker({
      store, registries, log: log.child({ area: 'outbox' }),
      leaseMs: o.leaseSeconds * 1000, maxAttempts: o.maxAttempts, baseDelayMs: o.baseDelayMs, maxDelayMs: o.maxDelayMs,
      awaitingCheckMs: o.awaitingCheckSeconds * 1000, intervalMs: o.intervalMs, batch: o.batch,
    });
    outbox.start();
    const provisioning = createProvisioning({
      store, issuer, log: log.child({ area: 'provisioning' }),
      registryNames: registries.map((r) => r.name), outbox, confirmWaitMs: o.confirmWaitMs,
    });
    closers.push(() => outbox.stop());
    const revocationStack = await startRevocation({ config, keyStore, store, issuingSigner: signer, issuingDer, log });
    closers.push(() => revocationStack.close());
    // One embedded broker per server: in cluster mode only worker 1 runs it (an external broker serves all workers).
    let mqttUrl: string | undefined;
    if (config.enroll.enabled && (config.enroll.broker !== 'embedded' || !cluster.isWorker || cluster.worker?.id === 1)) {
      const enrollment = await startEnrollment({ config, keyStore, issuer: { signer, cert: issuing }, rootDer, issuingDer, store, log: log.child({ area: 'enroll' }) });
      closers.push(() => enrollment.close());
      mqttUrl = enrollment.mqttUrl;
    }
    const metrics = new Metrics();
    const chainPem = toPem(issuingDer) + toPem(rootDer);

    const app = createApp({
      provisioning,
      revocation: revocationStack.revocation,
      oversight: {
        auditPage: (afterSeq, limit) => store.transaction((tx) => tx.audit.list({ afterSeq, limit }), { readOnly: true }),
        verifyAudit: () => verifyAuditChain(store),
        reconcile: (workOrder) => reconcile(store, workOrder),
      },
      chainPem,
      auth: {
        isRevoked: async (serial) => (await store.transaction((tx) => tx.revocations.get(serial), { readOnly: true })) !== null,
        onAuthenticated: (p) => provisioning.registerStation(p.id, p.fingerprintSha256, p.role),
      },
      metrics,
      log: log.child({ area: 'api' }),
      bodyLimitBytes: config.server.bodyLimitBytes,
      health: async () => {
        const checks: Record<string, unknown> = {};
        try {
          await signer.publicKeySpki();
          checks.hsm = 'ok';
        } catch (err) {
          checks.hsm = (err as Error).message;
        }
        return { ok: checks.hsm === 'ok', checks };
      },
    });

    const https = createServer(
      {
        key: readFileSync(config.server.tlsKey),
        cert: readFileSync(config.server.tlsCert, 'utf8') + issuingPem,
        ca: [rootPem, issuingPem],
        requestCert: true,
        // Unauthorised peers are let through the handshake so refusals get a JSON body (api/middleware/mtls.ts).
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
      },
      app.callback(),
    );
    // Batches of small requests: Nagle's delay would dominate latency.
    https.on('secureConnection', (s) => s.setNoDelay(true));
    // Malformed HTTP or a TLS failure never reaches Koa: log it here, once, and drop the socket.
    https.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      log.warn({ err: { message: err.message, code: err.code } }, 'client connection error');
      socket.destroy();
    });
    https.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug({ err: { message: err.message, code: err.code } }, 'TLS handshake failed'));
    // Stations keep their connections for a whole shift; Node's 5 s default makes an idle
    // station's next request race the server's close (ECONNRESET on a reused socket).
    https.keepAliveTimeout = 65_000;
    https.headersTimeout = 70_000;
    await listen(https, config.server.port, config.server.host);
    closers.push(() => closeServer(https));
    const apiUrl = `https://${config.server.host}:${(https.address() as AddressInfo).port}`;
    log.info({ apiUrl, mqttUrl }, 'listening');
    let closing: Promise<void> | undefined;
    return {
      apiUrl,
      ...(mqttUrl ? { mqttUrl } : {}),
      publicUrl: revocationStack.publicUrl,
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

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
