/**
 * The registry outbox and leases on SQLite. Jobs are claimed inside the one write transaction,
 * so no two workers ever hold the same job.
 */
import { KeylineError } from '../../../common/errors.js';
import type { LeaseRepo, OutboxJobCount, OutboxRepo } from '../store.js';
import { toOutboxJob, toRegistration, type Row } from '../rows.js';
import type { SqliteTxContext } from './sqlite-tx-context.js';

/** Registry outbox jobs and the registrations they produced. */
export function createOutboxRepo(c: SqliteTxContext): OutboxRepo {
  const { s, run } = c;
  return {
    enqueue: (j) => run(`outbox job ${j.registry} ${j.serial}`, () =>
      toOutboxJob(s.jobInsert.get(j.serial, j.registry, j.action, j.at, j.at) as Row)),
    enqueueMany: (jobs) => run('outbox jobs', () =>
      jobs.map((j) => toOutboxJob(s.jobInsert.get(j.serial, j.registry, j.action, j.at, j.at) as Row))),
    claimDue: (nowIso, leaseUntil, limit, serial) => run('outbox claim', () =>
      (s.jobsDue.all({ now: nowIso, limit, serial: serial ?? null }) as number[]).map((id) => toOutboxJob(s.jobLease.get(leaseUntil, id) as Row))),
    markDelivered: (id, at) => run(`outbox job ${id}`, () => {
      if (s.jobDelivered.run({ at, id }).changes !== 1) throw new KeylineError('STORE_ERROR', `outbox job ${id}: not found`);
    }),
    markAwaiting: (id, a) => run(`outbox job ${id}`, () => {
      if (s.jobAwaiting.run(a.externalId, a.nextAttemptAt, id).changes !== 1) {
        throw new KeylineError('STORE_ERROR', `outbox job ${id}: not found, or delivered or parked already`);
      }
    }),
    release: (id, nextAttemptAt) => run(`outbox job ${id}`, () => {
      if (s.jobRelease.run(nextAttemptAt, id).changes !== 1) throw new KeylineError('STORE_ERROR', `outbox job ${id}: not found`);
    }),
    markFailed: (id, f) => run(`outbox job ${id}`, () => {
      if (s.jobFailed.run({ park: f.park ? 1 : 0, error: f.error, next: f.nextAttemptAt, id }).changes !== 1) {
        throw new KeylineError('STORE_ERROR', `outbox job ${id}: not found`);
      }
    }),
    anyDue: (nowIso: string) => run('outbox due', () => s.jobsAnyDue.get({ now: nowIso }) === 1),
    jobCounts: () => run('outbox counts', () => s.jobCounts.all() as OutboxJobCount[]),
    registrationCounts: () => run('registration counts', () => s.registrationCounts.all() as Array<{ registry: string; count: number }>),
    awaiting: (wo) => run('outbox awaiting', () => (s.jobsAwaiting.all({ wo: wo ?? null }) as Row[]).map(toOutboxJob)),
    jobsFor: (serial) => run(`outbox jobs ${serial}`, () => (s.jobsForSerial.all(serial) as Row[]).map(toOutboxJob)),
    parked: (wo) => run('outbox parked', () => (s.jobsParked.all({ wo: wo ?? null }) as Row[]).map(toOutboxJob)),
    addRegistration: (r) => run(`registration ${r.registry} ${r.serial}`, () => {
      s.registrationInsert.run(r.serial, r.registry, r.externalId, r.registeredAt);
      return toRegistration(s.registrationGet.get(r.serial, r.registry) as Row);
    }),
    addRegistrations: (rs) => run('registrations', () => {
      for (const r of rs) s.registrationInsert.run(r.serial, r.registry, r.externalId, r.registeredAt);
    }),
    getRegistration: (serial, registry) => run(`registration ${registry} ${serial}`, () => {
      const r = s.registrationGet.get(serial, registry) as Row | undefined;
      return r ? toRegistration(r) : null;
    }),
    unregistered: (wo) => run('outbox unregistered', () => s.unregistered.all({ wo: wo ?? null }) as Array<{ serial: string; registry: string }>),
    orphanRegistrations: () => run('orphan registrations', () => (s.registrationsOrphan.all() as Row[]).map(toRegistration)),
    list: (q) => run('outbox list', () => (s.jobsList.all({ registry: q.registry ?? null, status: q.status ?? null, limit: q.limit }) as Row[]).map(toOutboxJob)),
    get: (id) => run(`outbox job ${id}`, () => {
      const r = s.jobGet.get(id) as Row | undefined;
      return r ? toOutboxJob(r) : null;
    }),
    retry: (id, at) => run(`outbox job ${id}`, () => s.jobRetry.run(at, id).changes === 1),
    park: (id, reason, nowIso) => run(`outbox job ${id}`, () => s.jobPark.run(reason, id, nowIso).changes === 1),
  };
}

/** Named leases (one holder at a time, until a deadline). */
export function createLeaseRepo(c: SqliteTxContext): LeaseRepo {
  const { s, run } = c;
  return {
    // One upsert statement: the WHERE on DO UPDATE makes take-if-free-or-mine atomic.
    acquire: (name, holder, nowIso, until) => run(`lease ${name}`, () =>
      s.leaseAcquire.run({ name, holder, now: nowIso, until }).changes === 1),
    release: (name, holder) => run(`lease ${name}`, () => void s.leaseRelease.run(name, holder)),
    get: (name) => run(`lease ${name}`, () => {
      const r = s.leaseGet.get(name) as { holder: string; until: string } | undefined;
      return r ? { holder: r.holder, until: r.until } : null;
    }),
  };
}
