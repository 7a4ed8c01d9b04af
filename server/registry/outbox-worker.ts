/**
 * Delivers preregistration jobs from the outbox (outbox_jobs) to their registries. A job is
 * leased in a write transaction before delivery, so two workers (threads, processes or
 * replicas on one database) never deliver it at the same time; a worker that dies leaves a
 * lease that simply expires. What each outcome does to the job is in outbox-delivery.ts.
 *
 * Calls to one registry are spaced by its maxPerSecond (rate-limiter.ts). An idle round asks
 * a read-only question first when the store can answer it (`anyDue`), so an idle server does
 * not take the database's write lock every interval.
 */
import type { Logger } from '../../common/log.js';
import type { OutboxJobRecord, OutboxRepo, Store } from '../store/store.js';
import { deliverJob, type DeliveryDeps, type DeliveryOutcome } from './outbox-delivery.js';
import { createRateLimiter } from './rate-limiter.js';
import type { Registry } from './registry.js';

/** Options of the outbox worker. */
export interface OutboxWorkerOptions {
  store: Store;
  registries: Registry[];
  log?: Logger;
  now?: () => Date;
  /** How long a claimed job is held before another worker may take it (ms). */
  leaseMs?: number;
  /** Jobs claimed per round. */
  batch?: number;
  /** Attempts before a job is parked (throttled calls do not count). */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How often an awaiting job re-checks its device's first connection (ms). */
  awaitingCheckMs?: number;
  /** Pause between rounds when the outbox is idle (ms). */
  intervalMs?: number;
}

/** What one round did, by outcome. */
export type OutboxRound = Record<DeliveryOutcome, number>;

/** A running (or runnable) outbox worker. */
export interface OutboxWorker {
  /** Claims and delivers the due jobs once. */
  runOnce(): Promise<OutboxRound>;
  /** Claims and delivers one unit's due jobs now (confirm gating); other workers' leases are respected. */
  deliverUnit(serial: string): Promise<OutboxRound>;
  /** Starts the polling loop. */
  start(): void;
  /** Stops the loop and waits for the round in progress. */
  stop(): Promise<void>;
}

/** An optional read-only probe a store's outbox may offer: is any job due at `now`? */
export interface OutboxDueProbe {
  anyDue?(now: string): Promise<boolean>;
}

/** The retry delay after `attempts` failed attempts: base·2^(attempts-1), capped. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

const emptyRound = (): OutboxRound => ({ delivered: 0, awaiting: 0, retried: 0, throttled: 0, parked: 0 });

/** Creates an outbox worker over the store and the configured registries. */
export function createOutboxWorker(o: OutboxWorkerOptions): OutboxWorker {
  const now = o.now ?? (() => new Date());
  const leaseMs = o.leaseMs ?? 60_000;
  const batch = o.batch ?? 20;
  const baseMs = o.baseDelayMs ?? 1_000;
  const maxMs = o.maxDelayMs ?? 3_600_000;
  const deps: DeliveryDeps = {
    store: o.store,
    registries: new Map(o.registries.map((r) => [r.name, { registry: r, limiter: createRateLimiter(r.maxPerSecond) }])),
    now,
    maxAttempts: o.maxAttempts ?? 8,
    awaitingCheckMs: o.awaitingCheckMs ?? 300_000,
    backoff: (attempts) => backoffMs(attempts, baseMs, maxMs),
    log: o.log,
  };

  async function deliverAll(jobs: OutboxJobRecord[]): Promise<OutboxRound> {
    // One unit's jobs with one registry run in order (a register before its revoke); the rest in parallel.
    const chains = new Map<string, OutboxJobRecord[]>();
    for (const j of jobs) {
      const key = `${j.serial}\u0000${j.registry}`;
      chains.set(key, [...(chains.get(key) ?? []), j].sort((a, b) => a.id - b.id));
    }
    const round = emptyRound();
    await Promise.all([...chains.values()].map(async (chain) => {
      for (const job of chain) round[await deliverJob(deps, job)]++;
    }));
    return round;
  }

  async function claim(serial?: string): Promise<OutboxJobRecord[]> {
    const t = now();
    return o.store.transaction((tx) =>
      tx.outbox.claimDue(t.toISOString(), new Date(t.getTime() + leaseMs).toISOString(), serial === undefined ? batch : 100, serial));
  }

  async function anyDue(): Promise<boolean> {
    return o.store.transaction((tx) => {
      const probe = (tx.outbox as OutboxRepo & OutboxDueProbe).anyDue;
      return probe ? probe(now().toISOString()) : Promise.resolve(true);
    }, { readOnly: true });
  }

  async function runOnce(): Promise<OutboxRound> {
    if (!(await anyDue())) return emptyRound();
    return deliverAll(await claim());
  }

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const loop = (): void => {
    if (!running) return;
    current = runOnce()
      .catch((err: unknown) => o.log?.error({ err: { message: (err as Error).message } }, 'outbox round failed'))
      .then((r) => {
        // A full batch means more may be due: go again at once; otherwise wait.
        const busy = r !== undefined && Object.values(r).reduce((a, b) => a + b, 0) >= batch;
        if (running) timer = setTimeout(loop, busy ? 0 : o.intervalMs ?? 1_000);
      });
  };

  return {
    runOnce,
    async deliverUnit(serial) {
      return deliverAll(await claim(serial));
    },
    start() {
      if (running) return;
      running = true;
      loop();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
