/**
 * `keyline server`: runs the factory server until SIGINT/SIGTERM, in one process or as a
 * cluster of worker processes sharing the listening sockets, the database and the HSM token
 * (the primary's side is server/cluster-primary.ts).
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { intFlag, parseCommand, runCli } from '../common/cli.js';
import { listenerLines, runPrimary, type WorkerHello, type WorkerReady, type WorkerStart } from './cluster-primary.js';
import { startServer, type RunningServer } from './main.js';
import { onStopSignal } from './stop-signal.js';

const USAGE = `Usage: keyline server [--config FILE] [--workers N]

Runs the station API (HTTPS, mTLS) with the issuing CA key in the configured PKCS#11 token.
Prints one line per listener when ready, e.g. "api https://127.0.0.1:8443",
"public http://127.0.0.1:8080" (the CRL and OCSP responder, plain HTTP) and, with the embedded
broker, "mqtt mqtts://127.0.0.1:8883"; with keyline.json's awsFleet and dps sections,
"aws-fleet mqtts://…" (AWS IoT Fleet Provisioning) and "dps mqtts://…" (Azure DPS).

Options:
  --config FILE   keyline.json (default certs-dev/keyline.json, written by 'keyline ceremony init --dev')
  --workers N     worker processes sharing every port, the database and the token (default 1;
                  0 = one per core). Each worker keeps its own PKCS#11 sessions and database
                  connection; the embedded broker runs in worker 1. A worker that dies stops
                  the server (exit code 1).
  -h, --help      this text

SIGINT or SIGTERM stops the server (every worker) within 5 seconds.

Environment overrides: KEYLINE_SERVER_HOST, KEYLINE_SERVER_PORT (0 = any free port),
KEYLINE_SERVER_PUBLIC_PORT (CRL/OCSP listener, 0 = any free port), KEYLINE_ENROLL_PORT,
KEYLINE_STORE_URL, KEYLINE_LOG_LEVEL, KEYLINE_HSM_MODULE, KEYLINE_HSM_SESSIONS,
KEYLINE_HSM_SIGNER_THREAD (false = sign in the event loop instead of a thread).`;

/** How long a stopping process waits for its listeners, broker and store to close before it exits anyway. */
export const CLOSE_MS = 3000;

/** Entry point of `keyline server`. */
export async function main(argv: string[]): Promise<number> {
  const code = await runCli(async () => {
    const args = parseCommand(argv, { usage: USAGE, options: { config: { type: 'string' }, workers: { type: 'string' } } });
    if (!args) return 0;
    const configFile = args.values.config ?? 'certs-dev/keyline.json';
    let workers = intFlag('workers', args.values.workers, 1, 0, 64);
    if (workers === 0) workers = availableParallelism();
    if (cluster.isWorker) return runWorker(configFile);
    if (workers > 1) return runPrimary(workers);
    const stop = onStopSignal();
    const server = await startServer({ configFile });
    process.stdout.write(listenerLines(server));
    await stop.promise;
    const closed = await closeWithin(server, CLOSE_MS);
    stop.dispose();
    // Something would not close in time (and may keep the event loop alive): leave anyway.
    if (!closed) process.exit(1);
    return 0;
  });
  // A worker's IPC channel to the primary keeps its event loop alive after main returns (issue
  // 13: stopped workers lingered and the primary waited for them forever): exit explicitly,
  // whether the worker stopped, failed to start or failed to close.
  if (cluster.isWorker) process.exit(code);
  return code;
}

/** One worker of the cluster: waits for the primary's start message, serves, reports ready, closes on a signal. */
async function runWorker(configFile: string): Promise<number> {
  const stop = onStopSignal();
  const start = await new Promise<WorkerStart>((resolve) => {
    const onMessage = (m: Partial<WorkerStart>) => {
      if (m?.kind !== 'keyline:start') return;
      process.off('message', onMessage);
      resolve(m as WorkerStart);
    };
    process.on('message', onMessage);
    process.send!({ kind: 'keyline:hello' } satisfies WorkerHello);
  });
  const server = await startServer({ configFile });
  const mqttUrl = server.mqttUrl ?? start.mqttUrl;
  const awsFleetUrl = server.awsFleetUrl ?? start.awsFleetUrl;
  const dpsUrl = server.dpsUrl ?? start.dpsUrl;
  const ready: WorkerReady = {
    kind: 'keyline:ready', apiUrl: server.apiUrl, publicUrl: server.publicUrl, ...(mqttUrl ? { mqttUrl } : {}), ...(awsFleetUrl ? { awsFleetUrl } : {}), ...(dpsUrl ? { dpsUrl } : {}),
  };
  process.send!(ready);
  await stop.promise;
  return (await closeWithin(server, CLOSE_MS)) ? 0 : 1;
}

/** Closes the server; false when it failed or took longer than `ms`. */
async function closeWithin(server: RunningServer, ms: number): Promise<boolean> {
  let done = false;
  const closed = server.close().then(() => true, (err: unknown) => {
    process.stderr.write(`keyline: close failed: ${(err as Error).stack ?? String(err)}\n`);
    return false;
  }).finally(() => (done = true));
  const late = sleep(ms, false, { ref: false }).then(() => {
    if (!done) process.stderr.write(`keyline: not closed after ${ms} ms; exiting anyway\n`);
    return false;
  });
  return Promise.race([closed, late]);
}
