/**
 * Preregistration as an operator sees it (issue 18): each registry's jobs by state and registered
 * units, the parked
 * jobs with the cloud's reason and the pending ones still being retried; and the two actions,
 * retry (a parked job goes back to the outbox, its attempts counted from zero) and park (a job
 * that should stop being retried). Both are audited in their transaction. The console and
 * GET/POST /v1/outbox call these.
 */
import { KeylineError, ValidationError } from '../../common/errors.js';
import type { Actor } from '../../common/roles.js';
import type { OutboxJobRecord, Store, Tx } from '../store/store.js';

/** Jobs by registry, then action, then state. */
export type JobCounts = Record<string, Record<string, Record<string, number>>>;

/** What the preregistration view shows. */
export interface OutboxOverview {
  counts: JobCounts;
  parked: OutboxJobRecord[];
  /** Pending jobs, newest first: those with attempts > 0 are being retried. */
  pending: OutboxJobRecord[];
  /**
   * Units registered, by registry. Keyline's own registry (`self`) is written with the unit in
   * its issuance transaction and has no jobs, so this is where its progress shows.
   */
  registered: Record<string, number>;
}

/** What the functions need. */
export interface OutboxAdminDeps {
  store: Store;
  now?: () => Date;
}

type Change = (tx: Tx, job: OutboxJobRecord, at: string) => Promise<boolean>;

/** Builds the functions. */
export function createOutboxAdmin({ store, now = () => new Date() }: OutboxAdminDeps) {
  function act(id: number, actor: Actor, action: 'outbox.retried' | 'outbox.parked', change: Change, extra: Record<string, unknown> = {}): Promise<OutboxJobRecord> {
    return store.transaction(async (tx) => {
      const job = await tx.outbox.get(id);
      if (!job) throw new KeylineError('NOT_FOUND', `job: no outbox job ${id}`, { detail: { job: id } });
      if (!(await change(tx, job, now().toISOString()))) {
        const what = action === 'outbox.retried' ? 'retried (only a parked or pending job is)' : 'parked (only a pending job no worker holds is)';
        throw new ValidationError('VALIDATION_FAILED', `job: outbox job ${id} is ${job.status} and cannot be ${what}`, { detail: { job: id, status: job.status } });
      }
      await tx.audit.append({ action, actor: actor.id, subject: job.serial, detail: { job: id, registry: job.registry, jobAction: job.action, from: job.status, lastError: job.lastError, ...extra } });
      return (await tx.outbox.get(id))!;
    });
  }

  return {
    /** Counts by registry and state, parked jobs and pending ones (at most `limit` of each, newest first). */
    overview(limit = 100): Promise<OutboxOverview> {
      return store.transaction(async (tx) => {
        const counts: JobCounts = {};
        for (const c of await tx.outbox.jobCounts()) ((counts[c.registry] ??= {})[c.action] ??= {})[c.status] = c.count;
        const registered: Record<string, number> = {};
        for (const r of await tx.outbox.registrationCounts()) registered[r.registry] = r.count;
        return { counts, parked: await tx.outbox.list({ status: 'parked', limit }), pending: await tx.outbox.list({ status: 'pending', limit }), registered };
      }, { readOnly: true });
    },

    /** Puts a parked (or pending) job back in the outbox, due now; the outbox worker delivers it on its next pass. */
    retry(id: number, actor: Actor): Promise<OutboxJobRecord> {
      return act(id, actor, 'outbox.retried', (tx, job, at) => tx.outbox.retry(job.id, at));
    },

    /** Parks a pending job with the operator's reason: it is not retried until someone retries it. */
    park(id: number, reason: string, actor: Actor): Promise<OutboxJobRecord> {
      if (!reason.trim()) throw new ValidationError('VALIDATION_FAILED', 'reason: must not be empty');
      return act(id, actor, 'outbox.parked', (tx, job, at) => tx.outbox.park(job.id, `parked by ${actor.id}: ${reason}`, at), { reason });
    },
  };
}

/** The functions. */
export type OutboxAdmin = ReturnType<typeof createOutboxAdmin>;
