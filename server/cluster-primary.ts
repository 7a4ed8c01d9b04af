/**
 * The primary of `keyline server --workers N` (node:cluster): starts the workers, checks that
 * they all serve the same listeners, prints them once, and stops the whole tree on a signal or
 * when any worker dies.
 *
 * Ports. The primary owns every shared listening socket (node:cluster's round-robin mode) and
 * hands connections to the workers. A socket is matched to a worker's listen() by (address,
 * port) and, for port 0, by how many port-0 listens on that address the worker made before it
 * (Node's cluster docs, "server.listen(0)"): the k-th listen(0) of every worker gets the k-th
 * port. So every worker must make the same shared listens in the same order. The API and the
 * public listener do (server/main.ts); the embedded MQTT broker, which runs in worker 1 only
 * (aedes keeps its sessions in memory), listens outside the cluster (`exclusive`), so it takes
 * no place in that order. Issue 13: it used to take one, and worker 2's API socket became
 * worker 1's MQTT socket. The primary refuses to run workers that report different URLs.
 *
 * Start-up. Worker 1 starts alone (it runs the broker, makes the config-signer key and takes
 * the CRL lease on a fresh database), then the others together, told the broker's URL, so every
 * worker reports the same one.
 *
 * Stop. SIGINT/SIGTERM: each worker gets SIGTERM and closes (server/cli.ts gives itself
 * WORKER_CLOSE_MS); any worker still alive after STOP_MS is killed. A worker that dies on its
 * own (crash, SIGKILL) stops the others the same way and the primary exits 1, so a supervisor
 * (systemd Restart=on-failure) starts the server again. If the primary itself dies, node:cluster
 * ends each worker when its IPC channel closes.
 */
import cluster, { type Worker } from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeylineError } from '../common/errors.js';
import { onStopSignal } from './stop-signal.js';

/**
 * Worker → primary, first: ready to be told how to start. (A message sent at 'online' could
 * arrive before the worker's module has loaded and listens, and would be lost.)
 */
export interface WorkerHello {
  kind: 'keyline:hello';
}

/** Primary → worker, in answer to its hello: the broker URL of the server (from worker 1), if any. */
export interface WorkerStart {
  kind: 'keyline:start';
  mqttUrl?: string;
  /** The cloud-protocol endpoints of worker 1 (issue 16). */
  awsFleetUrl?: string;
  dpsUrl?: string;
}

/** Worker → primary, once its listeners accept connections. */
export interface WorkerReady {
  kind: 'keyline:ready';
  apiUrl: string;
  publicUrl: string;
  mqttUrl?: string;
  awsFleetUrl?: string;
  dpsUrl?: string;
}

/** How long the primary waits for every worker to exit after SIGTERM before killing it (under the 5 s a supervisor usually grants). */
export const STOP_MS = 4000;

/** What the primary prints: one line per listener, as a single process does. */
export function listenerLines(r: Omit<WorkerReady, 'kind'>): string {
  return `api ${r.apiUrl}\npublic ${r.publicUrl}\n${r.mqttUrl ? `mqtt ${r.mqttUrl}\n` : ''}${r.awsFleetUrl ? `aws-fleet ${r.awsFleetUrl}\n` : ''}${r.dpsUrl ? `dps ${r.dpsUrl}\n` : ''}console ${r.apiUrl}/console/\n`;
}

/** Runs `count` workers until a stop signal (exit code 0) or the unexpected death of one (1). */
export async function runPrimary(count: number, out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Promise<number> {
  const signal = onStopSignal();
  // Set when a worker exits while the primary did not ask it to.
  let died: { pid: number | undefined; how: string } | undefined;
  let onDeath: () => void = () => undefined;
  const death = new Promise<void>((resolve) => (onDeath = resolve));
  let stopping = false;
  cluster.on('exit', (w, code, sig) => {
    if (stopping || died) return;
    died = { pid: w.process.pid, how: sig ?? `code ${code}` };
    onDeath();
  });
  try {
    const first = await startWorker({ kind: 'keyline:start' }, signal.promise, death);
    const rest = await Promise.all(Array.from({ length: count - 1 }, () =>
      startWorker({
        kind: 'keyline:start', ...(first.mqttUrl ? { mqttUrl: first.mqttUrl } : {}),
        ...(first.awsFleetUrl ? { awsFleetUrl: first.awsFleetUrl } : {}), ...(first.dpsUrl ? { dpsUrl: first.dpsUrl } : {}),
      }, signal.promise, death)));
    const differ = rest.filter((r) => r.apiUrl !== first.apiUrl || r.publicUrl !== first.publicUrl || r.mqttUrl !== first.mqttUrl || r.awsFleetUrl !== first.awsFleetUrl || r.dpsUrl !== first.dpsUrl);
    if (differ.length) {
      throw new KeylineError('INTERNAL', `workers serve different listeners: ${[first, ...rest].map((r) => listenerLines(r).trim().replace(/\n/g, ', ')).join(' | ')}`);
    }
    out.stdout.write(listenerLines(first));
    await Promise.race([signal.promise, death]);
  } catch (err) {
    if (!(err instanceof StartAborted)) {
      stopping = true;
      await stopWorkers();
      throw err;
    }
  } finally {
    stopping = true;
  }
  if (died) out.stderr.write(`keyline: worker ${died.pid} exited (${died.how}); stopping the other workers\n`);
  await stopWorkers();
  signal.dispose();
  return died ? 1 : 0;
}

/** Raised inside runPrimary when a signal or a worker's death interrupts start-up (handled like one after it). */
class StartAborted extends Error {}

/** Forks one worker, sends it `start`, resolves with its ready message. */
function startWorker(start: WorkerStart, signal: Promise<void>, death: Promise<void>): Promise<WorkerReady> {
  const w = cluster.fork();
  return new Promise<WorkerReady>((resolve, reject) => {
    w.on('message', (m: Partial<WorkerReady | WorkerHello>) => {
      if (m?.kind === 'keyline:hello') w.send(start);
      if (m?.kind === 'keyline:ready') resolve(m as WorkerReady);
    });
    w.once('exit', (code, sig) => reject(new KeylineError('INTERNAL', `worker ${w.process.pid} exited (${sig ?? `code ${code}`}) before it was ready`)));
    void signal.then(() => reject(new StartAborted('stop signal during start-up')));
    void death.then(() => reject(new StartAborted('a worker died during start-up')));
  });
}

/** SIGTERM to every live worker, SIGKILL to those still alive after STOP_MS; resolves when all have exited. */
async function stopWorkers(): Promise<void> {
  const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
  const exited = live.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.process.once('exit', () => r()))));
  for (const w of live) w.process.kill('SIGTERM');
  const all = Promise.all(exited);
  const late = await Promise.race([all.then(() => false), sleep(STOP_MS, true, { ref: false })]);
  if (late) for (const w of live) if (!w.isDead()) w.process.kill('SIGKILL');
  await all;
}
