/**
 * WAL checkpoints on a thread of their own. By default SQLite checkpoints inside the COMMIT that
 * pushes the WAL past 1,000 pages: that COMMIT copies every page back into the database file and
 * fsyncs both files, on the event loop, while every request waits. Under issuance load that was
 * ~12 % of the process's time (issue 13's profile: each unit dirties a leaf of about ten
 * random-keyed indexes, so the WAL fills every few hundred units).
 *
 * Here a worker thread with its own connection runs PASSIVE checkpoints (they never block the
 * writer and never wait for a lock): every `busyMs` while frames are left to copy, `gatherMs`
 * after catching up with a writer that still appends, every `intervalMs` when the WAL is still,
 * and the store's connection keeps
 * SQLite's own automatic checkpoint only as a safety net at a much larger WAL. If the thread
 * cannot start or dies, the store goes back to the default threshold. Durability is unchanged:
 * a commit is in the WAL either way, and a checkpoint is the same operation on another thread.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How a store's connection hands checkpoints to the thread and takes them back. */
export interface CheckpointerHost {
  /** Sets the connection's wal_autocheckpoint (pages). */
  setAutocheckpoint(pages: number): void;
}

/** SQLite's default wal_autocheckpoint: what the store falls back to. */
export const DEFAULT_AUTOCHECKPOINT = 1000;
/** The safety net while the thread checkpoints (~40 MB of WAL at 4 KiB pages). */
export const SAFETY_NET_AUTOCHECKPOINT = 10_000;

// Plain CommonJS run by the worker (eval): no TypeScript loader needed in the thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
let seen = -1;
let timer;
const tick = () => {
  let wait = workerData.intervalMs;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // Behind the writer: come back at once, since the WAL restarts from its beginning only when
    // a write transaction begins with every frame copied. Caught up while it still appends:
    // let commits gather first, so a page the next commits write again (index leaves, the
    // tables' last pages, the work order's row) is copied once, not once per commit.
    if (r.checkpointed < r.log) wait = workerData.busyMs;
    else if (r.log !== seen) wait = workerData.gatherMs;
    seen = r.log;
  } catch { /* locked by another checkpointer: next tick */ }
  timer = setTimeout(tick, wait);
};
tick();
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage('ready');
`;

/** A running checkpoint thread. */
export interface WalCheckpointer {
  /** Stops the thread and closes its connection (before the store closes its own). */
  close(): Promise<void>;
}

/**
 * Starts the thread on the database at `path`; the host's automatic checkpoint moves to the
 * safety net once the thread is ready, and back to the default if the thread fails.
 */
export function startWalCheckpointer(path: string, host: CheckpointerHost, intervalMs = 100, busyMs = 2, gatherMs = 25): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, intervalMs, busyMs, gatherMs } });
  worker.unref();
  let running = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => {
    if (running) host.setAutocheckpoint(DEFAULT_AUTOCHECKPOINT);
    running = false;
    resolve();
  }));
  worker.once('message', () => {
    running = true;
    host.setAutocheckpoint(SAFETY_NET_AUTOCHECKPOINT);
  });
  // A thread that cannot open the file (or fails later) just exits; 'exit' restores the default.
  worker.on('error', () => undefined);
  return {
    async close() {
      worker.postMessage('close');
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
