/**
 * `keyline server`: runs the factory server until SIGINT/SIGTERM, in one process or as a
 * cluster of worker processes sharing the listening socket, the database and the HSM token.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { intFlag, parseCommand, runCli } from '../common/cli.js';
import { startServer } from './main.js';

const USAGE = `Usage: keyline server [--config FILE] [--workers N]

Runs the station API (HTTPS, mTLS) with the issuing CA key in the configured PKCS#11 token.
Prints one line per listener when ready, e.g. "api https://127.0.0.1:8443" and
"public http://127.0.0.1:8080" (the CRL and OCSP responder, plain HTTP).

Options:
  --config FILE   keyline.json (default certs-dev/keyline.json, written by 'keyline ceremony init --dev')
  --workers N     worker processes sharing the port, the database and the token (default 1;
                  0 = one per core). Each worker keeps its own PKCS#11 sessions and SQLite connection.
  -h, --help      this text

Environment overrides: KEYLINE_SERVER_HOST, KEYLINE_SERVER_PORT (0 = any free port),
KEYLINE_SERVER_PUBLIC_PORT (CRL/OCSP listener, 0 = any free port), KEYLINE_STORE_URL,
KEYLINE_LOG_LEVEL, KEYLINE_HSM_MODULE, KEYLINE_HSM_SESSIONS.`;

/** Entry point of `keyline server`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, { usage: USAGE, options: { config: { type: 'string' }, workers: { type: 'string' } } });
    if (!args) return 0;
    const configFile = args.values.config ?? 'certs-dev/keyline.json';
    let workers = intFlag('workers', args.values.workers, 1, 0, 64);
    if (workers === 0) workers = availableParallelism();
    if (cluster.isPrimary && workers > 1) return runPrimary(workers);
    const server = await startServer({ configFile });
    if (cluster.isWorker) {
      process.send?.({ ready: server.apiUrl, public: server.publicUrl, mqtt: server.mqttUrl });
    } else {
      process.stdout.write(`api ${server.apiUrl}\npublic ${server.publicUrl}\n`);
      if (server.mqttUrl) process.stdout.write(`mqtt ${server.mqttUrl}\n`);
    }
    await signalled();
    await server.close();
    return 0;
  });
}

/** Forks the workers, prints the listener line once all are ready, and stops them on a signal. */
async function runPrimary(count: number): Promise<number> {
  const ready: Promise<{ ready: string; public?: string }>[] = [];
  let mqttUrl: string | undefined;
  for (let i = 0; i < count; i++) {
    const w = cluster.fork();
    ready.push(
      new Promise((resolve, reject) => {
        w.on('message', (m: { ready?: string; public?: string; mqtt?: string }) => {
          // Only the worker running the embedded broker reports it (server/main.ts).
          if (m.mqtt) mqttUrl = m.mqtt;
          if (m.ready) resolve({ ready: m.ready, public: m.public });
        });
        w.on('exit', (code) => reject(new Error(`worker ${w.process.pid} exited with code ${code} before it was ready`)));
      }),
    );
  }
  let urls: { ready: string; public?: string }[];
  try {
    urls = await Promise.all(ready);
  } catch (err) {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    throw err;
  }
  process.stdout.write(`api ${urls[0]!.ready}\npublic ${urls[0]!.public}\n`);
  if (mqttUrl) process.stdout.write(`mqtt ${mqttUrl}\n`);
  let stopping = false;
  cluster.on('exit', (w, code) => {
    if (!stopping) process.stderr.write(`keyline: worker ${w.process.pid} exited (${code}); stopping\n`);
    if (!stopping) process.kill(process.pid, 'SIGTERM');
  });
  await signalled();
  stopping = true;
  await Promise.all(Object.values(cluster.workers ?? {}).map((w) => new Promise<void>((r) => { w!.once('exit', () => r()); w!.kill('SIGTERM'); })));
  return 0;
}

function signalled(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
