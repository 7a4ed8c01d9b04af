/**
 * Delivers preregistration jobs from the outbox (outbox_jobs) to their registries. A job is
 * leased in a write transaction before delivery, so two workers (threads, processes or
 * replicas on one database) never deliver it at the same time; a worker that dies leaves a
 * lease that simply expires. What each outcome does to the job is in outbox-delivery.ts.
 *
 * Calls to one registry are spaced by its maxPerSecond across all replicas (shared-registry-call-limiter.ts). An idle round asks
 * a read-only question first (`anyDue`), so an idle server does not take the database's write
 * lock every interval.
 *
 * The running loop is a pump, not a sequence of rounds: it keeps up to `batch` deliveries in
 * flight and claims more as each one finishes, so one hung cloud call (bounded by its
 * registry's request timeout, well inside the lease) holds one slot, never the whole outbox.
 */
import type { Logger } from '../../common/log.js';
import type { OutboxJobRecord, Store } from '../store/store.js';
import { deliverJob, type DeliveryDeps, type DeliveryOutcome } from './outbox-delivery.js';
import { createRegistryCallLimiter } from './registry-call-limiter.js';
import { createSharedRegistryCallLimiter } from './shared-registry-call-limiter.js';
import type { Registry } from './registry.js';

/** Options of the outbox worker. */
export interface OutboxWorkerOptions {
  store: Store;
  registries: Registry[];
  log?: Logger;
  now?: () => Date;
  /** How long a claimed job is held before another worker may take it (ms). */
  leaseMs?: number;
  /** Jobs claimed per round, and deliveries the running loop keeps in flight. */
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
    // A registry with a rate is limited across every process on the database (its quota is the
    // cloud account's); one without (Keyline's own) only pauses when it asks to.
    registries: new Map(o.registries.map((r) => [r.name, {
      registry: r,
      limiter: r.maxPerSecond ? createSharedRegistryCallLimiter({ store: o.store, name: r.name, perSecond: r.maxPerSecond }) : createRegistryCallLimiter(undefined),
    }])),
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

  async function claim(limit: number, serial?: string): Promise<OutboxJobRecord[]> {
    const t = now();
    // Shared (TxOptions.shared): claims, like the deliveries' writes, join the turn's commit.
    return o.store.transaction((tx) =>
      tx.outbox.claimDue(t.toISOString(), new Date(t.getTime() + leaseMs).toISOString(), limit, serial), { shared: true });
  }

  async function anyDue(): Promise<boolean> {
    return o.store.transaction((tx) => tx.outbox.anyDue(now().toISOString()), { readOnly: true, shared: true });
  }

  async function runOnce(): Promise<OutboxRound> {
    if (!(await anyDue())) return emptyRound();
    return deliverAll(await claim(batch));
  }

  // The pump: deliveries in flight, by unit and registry (a later job of the same pair waits
  // for the earlier one, as in deliverAll).
  const inFlight = new Map<string, Promise<void>>();
  let slots = 0;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> = Promise.resolve();

  function launch(job: OutboxJobRecord): void {
    slots++;
    const key = `${job.serial}\u0000${job.registry}`;
    const tail: Promise<void> = (inFlight.get(key) ?? Promise.resolve())
      .then(() => deliverJob(deps, job))
      .then(() => undefined, (err: unknown) => o.log?.error({ err: { message: (err as Error).message }, job: job.id }, 'outbox delivery failed'))
      .finally(() => {
        slots--;
        if (inFlight.get(key) === tail) inFlight.delete(key);
        schedule(0);
      });
    inFlight.set(key, tail);
  }

  async function pump(): Promise<void> {
    const free = batch - slots;
    if (free <= 0) return;
    let claimed = 0;
    try {
      if (await anyDue()) for (const job of await claim(free)) { launch(job); claimed++; }
    } catch (err) {
      o.log?.error({ err: { message: (err as Error).message } }, 'outbox claim failed');
    }
    // Every free slot filled means more may be due: go again when a slot frees; otherwise wait.
    if (claimed < free) schedule(o.intervalMs ?? 1_000);
  }

  function schedule(ms: number): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      pumping = pumping.then(pump);
    }, ms);
  }

  return {
    runOnce,
    async deliverUnit(serial) {
      return deliverAll(await claim(100, serial));
    },
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await pumping;
      await Promise.all(inFlight.values());
    },
  };
}
