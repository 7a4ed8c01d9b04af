/**
 * Delivers one leased outbox job to its registry and records the outcome; the worker
 * (outbox-worker.ts) claims jobs and calls this. The decision table:
 * - register → result: registration recorded and job delivered, or (CA-level modes) job
 *   'awaiting' with the registry's id, re-checked every awaitingCheckMs through confirmConnection;
 * - REGISTRY_REJECTED: parked at once with the reason (retrying a wrong request cannot help);
 * - REGISTRY_THROTTLED: released until retryAfterMs (or the backoff), no attempt counted, and
 *   the registry's rate limiter paused as long;
 * - anything else (REGISTRY_UNAVAILABLE, network, bugs): attempt counted, exponential backoff
 *   (or retryAfterMs when given), parked after maxAttempts.
 */
import { KeylineError, RegistryError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { OutboxJobRecord, Store, UnitRecord } from '../store/store.js';
import type { RegistryCallLimiter } from './registry-call-limiter.js';
import type { Registry } from './registry.js';

/** What happened to one job. */
export type DeliveryOutcome = 'delivered' | 'awaiting' | 'retried' | 'throttled' | 'parked';

/** Settings and collaborators of delivery. */
export interface DeliveryDeps {
  store: Store;
  registries: ReadonlyMap<string, { registry: Registry; limiter: RegistryCallLimiter }>;
  now: () => Date;
  maxAttempts: number;
  awaitingCheckMs: number;
  /** Retry delay after `attempts` failed attempts. */
  backoff(attempts: number): number;
  log?: Logger | undefined;
}

/** The reason stored with a failed job: the error's code and message. */
export function failureReason(err: unknown): string {
  if (err instanceof KeylineError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

// Every job's reads and outcome writes are small transactions: concurrent deliveries share their
// commits (TxOptions.shared), several per issued unit otherwise (issue 13).
const SHARED = { shared: true } as const;
const SHARED_READ = { shared: true, readOnly: true } as const;

const at = (d: DeliveryDeps, ms = 0) => new Date(d.now().getTime() + ms).toISOString();

/** Delivers `job` (leased by the caller) and records the outcome. */
export async function deliverJob(d: DeliveryDeps, job: OutboxJobRecord): Promise<DeliveryOutcome> {
  try {
    const entry = d.registries.get(job.registry);
    if (!entry) throw new KeylineError('UNKNOWN_REGISTRY', `registry '${job.registry}' is not configured on this server`);
    const unit = await d.store.transaction((tx) => tx.units.getBySerial(job.serial), SHARED_READ);
    if (!unit) throw new KeylineError('UNKNOWN_UNIT', `unit ${job.serial} not found`);
    return job.action === 'register' ? await register(d, job, unit, entry) : await revoke(d, job, unit, entry);
  } catch (err) {
    return failed(d, job, err);
  }
}

async function register(d: DeliveryDeps, job: OutboxJobRecord, unit: UnitRecord, { registry, limiter }: { registry: Registry; limiter: RegistryCallLimiter }): Promise<DeliveryOutcome> {
  // A unit revoked before its registration went out is never registered (its revoke job follows).
  if (unit.status === 'revoked') {
    await d.store.transaction((tx) => tx.outbox.markDelivered(job.id, at(d)), SHARED);
    return 'delivered';
  }
  let result;
  if (job.status === 'awaiting') {
    if (!registry.confirmConnection) throw new KeylineError('NOT_SUPPORTED', `registry '${registry.name}' cannot confirm a first connection`);
    await limiter.take();
    result = await registry.confirmConnection(unit);
    if (!result) {
      await d.store.transaction((tx) => tx.outbox.release(job.id, at(d, d.awaitingCheckMs)), SHARED);
      return 'awaiting';
    }
  } else {
    await limiter.take();
    result = await registry.register(unit);
    if (result.awaitingConnection) {
      const externalId = result.externalId;
      await d.store.transaction((tx) => tx.outbox.markAwaiting(job.id, { externalId, nextAttemptAt: at(d, d.awaitingCheckMs) }), SHARED);
      return 'awaiting';
    }
  }
  const externalId = result.externalId;
  await d.store.transaction(async (tx) => {
    await tx.outbox.addRegistration({ serial: job.serial, registry: job.registry, externalId, registeredAt: at(d) });
    await tx.outbox.markDelivered(job.id, at(d));
  }, SHARED);
  return 'delivered';
}

async function revoke(d: DeliveryDeps, job: OutboxJobRecord, unit: UnitRecord, { registry, limiter }: { registry: Registry; limiter: RegistryCallLimiter }): Promise<DeliveryOutcome> {
  // A register call for the same unit may be in flight elsewhere: revoke only after it landed,
  // or the registration would arrive after the revocation and survive it.
  const nowIso = at(d);
  const inFlight = (await d.store.transaction((tx) => tx.outbox.jobsFor(job.serial), SHARED_READ))
    .some((j) => j.registry === job.registry && j.action === 'register' && j.status === 'pending' && j.leaseUntil !== null && j.leaseUntil > nowIso);
  if (inFlight) {
    await d.store.transaction((tx) => tx.outbox.release(job.id, at(d, d.backoff(1))), SHARED);
    return 'throttled';
  }
  await limiter.take();
  await registry.revoke(unit);
  await d.store.transaction((tx) => tx.outbox.markDelivered(job.id, at(d)), SHARED);
  return 'delivered';
}

async function failed(d: DeliveryDeps, job: OutboxJobRecord, err: unknown): Promise<DeliveryOutcome> {
  const error = failureReason(err);
  const retryAfterMs = err instanceof RegistryError ? err.retryAfterMs : undefined;
  const base = { job: job.id, serial: job.serial, registry: job.registry, action: job.action, error };
  if (err instanceof RegistryError && err.code === 'REGISTRY_THROTTLED') {
    const wait = retryAfterMs ?? d.backoff(Math.max(1, job.attempts));
    d.registries.get(job.registry)?.limiter.pause(wait);
    await d.store.transaction((tx) => tx.outbox.release(job.id, at(d, wait)), SHARED);
    d.log?.info({ ...base, waitMs: wait }, 'registry throttled, job released');
    return 'throttled';
  }
  const attempts = job.attempts + 1;
  const park = (err instanceof RegistryError && err.code === 'REGISTRY_REJECTED') || attempts >= d.maxAttempts;
  const nextAttemptAt = at(d, retryAfterMs ?? d.backoff(attempts));
  await d.store.transaction((tx) => tx.outbox.markFailed(job.id, { error, nextAttemptAt, park }), SHARED);
  d.log?.warn({ ...base, attempts, park }, park ? 'preregistration job parked' : 'preregistration job failed, will retry');
  return park ? 'parked' : 'retried';
}
