/**
 * Delivers preregistration jobs from the outbox (outbox_jobs) to their registries. A job is
 * leased in a write transaction before delivery, so two workers (threads, processes or
 * replicas on one database) never deliver it at the same time; a worker that dies leaves a
 * lease that simply expires. Failures retry with exponential backoff and park after
 * `maxAttempts`, keeping the last error as the reason `keyline reconcile` shows.
 */
import type { Logger } from '../../common/log.js';
import type { OutboxJobRecord, Store } from '../store/store.js';
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
  /** Attempts before a job is parked. */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How often an awaiting job re-checks its device's first connection (ms). */
  awaitingCheckMs?: number;
  /** Pause between rounds when the outbox is idle (ms). */
  intervalMs?: number;
}

/** What one round did. */
export interface OutboxRound {
  delivered: number;
  retried: number;
  parked: number;
}

/** A running (or runnable) outbox worker. */
export interface OutboxWorker {
  /** Claims and delivers the due jobs once. */
  runOnce(): Promise<OutboxRound>;
  /** Starts the polling loop. */
  start(): void;
  /** Stops the loop and waits for the round in progress. */
  stop(): Promise<void>;
}

/** The retry delay after `attempts` failed attempts: base·2^(attempts-1), capped. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

/** Creates an outbox worker over the store and the configured registries. */
export function createOutboxWorker(o: OutboxWorkerOptions): OutboxWorker {
  const now = o.now ?? (() => new Date());
  const leaseMs = o.leaseMs ?? 60_000;
  const maxAttempts = o.maxAttempts ?? 8;
  const baseMs = o.baseDelayMs ?? 1_000;
  const maxMs = o.maxDelayMs ?? 3_600_000;
  const byName = new Map(o.registries.map((r) => [r.name, r]));

  async function deliver(job: OutboxJobRecord): Promise<keyof OutboxRound> {
    try {
      const registry = byName.get(job.registry);
      if (!registry) throw new Error(`registry '${job.registry}' is not configured on this server`);
      const unit = await o.store.transaction((tx) => tx.units.getBySerial(job.serial), { readOnly: true });
      if (!unit) throw new Error(`unit ${job.serial} not found`);
      if (job.action === 'register') {
        const { externalId } = await registry.register(unit);
        await o.store.transaction(async (tx) => {
          await tx.outbox.addRegistration({ serial: job.serial, registry: job.registry, externalId, registeredAt: now().toISOString() });
          await tx.outbox.markDelivered(job.id, now().toISOString());
        });
      } else {
        await registry.revoke(unit);
        await o.store.transaction((tx) => tx.outbox.markDelivered(job.id, now().toISOString()));
      }
      return 'delivered';
    } catch (err) {
      const attempts = job.attempts + 1;
      const park = attempts >= maxAttempts;
      const error = (err as Error).message ?? String(err);
      const nextAttemptAt = new Date(now().getTime() + backoffMs(attempts, baseMs, maxMs)).toISOString();
      await o.store.transaction((tx) => tx.outbox.markFailed(job.id, { error, nextAttemptAt, park }));
      o.log?.warn({ job: job.id, serial: job.serial, registry: job.registry, attempts, park, error }, park ? 'preregistration parked' : 'preregistration failed, will retry');
      return park ? 'parked' : 'retried';
    }
  }

  async function runOnce(): Promise<OutboxRound> {
    const t = now();
    const jobs = await o.store.transaction((tx) =>
      tx.outbox.claimDue(t.toISOString(), new Date(t.getTime() + leaseMs).toISOString(), o.batch ?? 20));
    const round: OutboxRound = { delivered: 0, retried: 0, parked: 0 };
    for (const kind of await Promise.all(jobs.map(deliver))) round[kind]++;
    return round;
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
        const busy = r !== undefined && r.delivered + r.retried + r.parked >= (o.batch ?? 20);
        if (running) timer = setTimeout(loop, busy ? 0 : o.intervalMs ?? 1_000);
      });
  };

  return {
    runOnce,
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
