/**
 * The preregistration outbox and named leases on PostgreSQL. Neither takes the write lock:
 * claims lock only the rows they take (FOR UPDATE SKIP LOCKED) and a lease is one atomic upsert,
 * so outbox workers and lease renewals on every replica run beside issuance.
 */
import { KeylineError } from '../../../common/errors.js';
import type { LeaseRepo, OutboxJobCount, OutboxJobRecord, OutboxRepo } from '../store.js';
import type { PgTxContext } from './pg-tx-context.js';
import { toOutboxJob, toRegistration, type Row } from '../rows.js';

const byDue = (a: OutboxJobRecord, b: OutboxJobRecord) => (a.nextAttemptAt < b.nextAttemptAt ? -1 : a.nextAttemptAt > b.nextAttemptAt ? 1 : a.id - b.id);

/** The outbox. */
export function createOutboxRepo(c: PgTxContext): OutboxRepo {
  const one = async (id: number, context: string, sql: string, params: unknown[], what = 'not found') => {
    if ((await c.query(context, sql, params)).rowCount !== 1) throw new KeylineError('STORE_ERROR', `outbox job ${id}: ${what}`);
  };
  const jobs = async (context: string, sql: string, params: unknown[]) => (await c.query(context, sql, params)).rows.map(toOutboxJob);
  return {
    async enqueue(j) {
      const r = await c.query(`outbox job ${j.registry} ${j.serial}`, `INSERT INTO outbox_jobs (serial, registry, action, next_attempt_at, created_at)
        VALUES ($1, $2, $3, $4, $4) RETURNING *`, [j.serial, j.registry, j.action, j.at]);
      return toOutboxJob(r.rows[0]!);
    },
    async enqueueMany(js) {
      if (js.length === 0) return [];
      // ORDER BY ordinality: ids are drawn in the caller's order, as a loop of enqueue would.
      const r = await c.query('outbox jobs', `INSERT INTO outbox_jobs (serial, registry, action, next_attempt_at, created_at)
        SELECT s, r, a, t, t FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS j(s, r, a, t, o) ORDER BY o
        RETURNING *`, [js.map((j) => j.serial), js.map((j) => j.registry), js.map((j) => j.action), js.map((j) => j.at)]);
      return r.rows.map(toOutboxJob).sort((a, b) => a.id - b.id);
    },
    async claimDue(now, leaseUntil, limit, serial) {
      // SKIP LOCKED: a job another worker is claiming right now is passed over, not waited for;
      // a job claimed and committed meanwhile fails the re-checked lease condition. Two
      // replicas therefore never lease one job at once; an expired lease is due again.
      const claimed = await jobs('outbox claim', `UPDATE outbox_jobs SET lease_until = $2 WHERE id IN (
          SELECT id FROM outbox_jobs WHERE status IN ('pending', 'awaiting') AND next_attempt_at <= $1
            AND (lease_until IS NULL OR lease_until <= $1) AND ($4::text IS NULL OR serial = $4)
          ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING *`, [now, leaseUntil, limit, serial ?? null]);
      return claimed.sort(byDue);
    },
    markDelivered: (id, at) => one(id, `outbox job ${id}`, `UPDATE outbox_jobs j SET status = 'delivered', attempts = attempts + 1, delivered_at = $1,
      lease_until = NULL, last_error = NULL, external_id = coalesce((SELECT g.external_id FROM registrations g
        WHERE g.serial = j.serial AND g.registry = j.registry), j.external_id) WHERE id = $2`, [at, id]),
    markAwaiting: (id, a) => one(id, `outbox job ${id}`, `UPDATE outbox_jobs SET status = 'awaiting', external_id = $1, next_attempt_at = $2,
      lease_until = NULL, last_error = NULL WHERE id = $3 AND status IN ('pending', 'awaiting')`, [a.externalId, a.nextAttemptAt, id],
    'not found, or delivered or parked already'),
    release: (id, next) => one(id, `outbox job ${id}`, 'UPDATE outbox_jobs SET next_attempt_at = $1, lease_until = NULL WHERE id = $2', [next, id]),
    // A failed awaiting job stays awaiting (its registration exists; only the check failed).
    markFailed: (id, f) => one(id, `outbox job ${id}`, `UPDATE outbox_jobs SET status = CASE WHEN $1 THEN 'parked' ELSE status END,
      attempts = attempts + 1, last_error = $2, next_attempt_at = $3, lease_until = NULL WHERE id = $4`, [f.park, f.error, f.nextAttemptAt, id]),
    async anyDue(now) {
      const r = await c.query('outbox due', `SELECT EXISTS (SELECT 1 FROM outbox_jobs WHERE status IN ('pending', 'awaiting')
        AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)) AS due`, [now]);
      return r.rows[0]!.due === true;
    },
    async jobCounts() {
      const r = await c.query('outbox counts', `SELECT registry, action, status, count(*)::int AS count FROM outbox_jobs
        GROUP BY registry, action, status ORDER BY registry COLLATE "C", action COLLATE "C", status COLLATE "C"`, []);
      return r.rows as unknown as OutboxJobCount[];
    },
    async registrationCounts() {
      const r = await c.query('registration counts', 'SELECT registry, count(*)::int AS count FROM registrations GROUP BY registry ORDER BY registry COLLATE "C"', []);
      return r.rows as unknown as Array<{ registry: string; count: number }>;
    },
    jobsFor: (serial) => jobs(`outbox jobs ${serial}`, 'SELECT * FROM outbox_jobs WHERE serial = $1 ORDER BY id', [serial]),
    parked: (wo) => jobs('outbox parked', `SELECT j.* FROM outbox_jobs j JOIN units u ON u.serial = j.serial
      WHERE j.status = 'parked' AND ($1::text IS NULL OR u.work_order = $1) ORDER BY j.id`, [wo ?? null]),
    awaiting: (wo) => jobs('outbox awaiting', `SELECT j.* FROM outbox_jobs j JOIN units u ON u.serial = j.serial
      WHERE j.status = 'awaiting' AND ($1::text IS NULL OR u.work_order = $1) ORDER BY j.id`, [wo ?? null]),
    async addRegistration(r) {
      const context = `registration ${r.registry} ${r.serial}`;
      // One statement: the new row, or the earlier one. The outer SELECT reads the statement's
      // snapshot, which never shows the CTE's own insert, so exactly one of the two is there,
      // unless a concurrent insert committed after that snapshot: then one more read finds it.
      const r1 = await c.query(context, `WITH ins AS (INSERT INTO registrations (serial, registry, external_id, registered_at) VALUES ($1, $2, $3, $4)
          ON CONFLICT (serial, registry) DO NOTHING RETURNING *)
        SELECT * FROM ins UNION ALL SELECT * FROM registrations WHERE serial = $1 AND registry = $2`, [r.serial, r.registry, r.externalId, r.registeredAt]);
      const row = r1.rows[0] ?? (await c.query(context, 'SELECT * FROM registrations WHERE serial = $1 AND registry = $2', [r.serial, r.registry])).rows[0];
      return toRegistration(row!);
    },
    async addRegistrations(rs) {
      if (rs.length === 0) return;
      await c.query('registrations', `INSERT INTO registrations (serial, registry, external_id, registered_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT (serial, registry) DO NOTHING`,
      [rs.map((r) => r.serial), rs.map((r) => r.registry), rs.map((r) => r.externalId), rs.map((r) => r.registeredAt)]);
    },
    async getRegistration(serial, registry) {
      const r = await c.query(`registration ${registry} ${serial}`, 'SELECT * FROM registrations WHERE serial = $1 AND registry = $2', [serial, registry]);
      return r.rows[0] ? toRegistration(r.rows[0]) : null;
    },
    // Every (unit, registry) its work order names, minus the registered, the delivered and the
    // awaiting (a CA-level registration covers those; reconcile lists them on their own).
    async unregistered(wo) {
      const r = await c.query('outbox unregistered', `SELECT u.serial AS serial, r.value AS registry
        FROM units u JOIN work_orders w ON w.id = u.work_order CROSS JOIN LATERAL jsonb_array_elements_text(w.registries::jsonb) AS r(value)
        WHERE ($1::text IS NULL OR u.work_order = $1) AND u.status <> 'revoked'
          AND NOT EXISTS (SELECT 1 FROM registrations g WHERE g.serial = u.serial AND g.registry = r.value)
          AND NOT EXISTS (SELECT 1 FROM outbox_jobs j WHERE j.serial = u.serial AND j.registry = r.value
            AND j.action = 'register' AND j.status IN ('delivered', 'awaiting'))
        ORDER BY u.serial, r.value COLLATE "C"`, [wo ?? null]);
      return r.rows.map((row: Row) => ({ serial: row.serial as string, registry: row.registry as string }));
    },
    async orphanRegistrations() {
      const r = await c.query('orphan registrations', `SELECT g.* FROM registrations g WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.serial = g.serial)
        ORDER BY g.serial, g.registry`);
      return r.rows.map(toRegistration);
    },
    list: (q) => jobs('outbox list', `SELECT * FROM outbox_jobs WHERE ($1::text IS NULL OR registry = $1) AND ($2::text IS NULL OR status = $2)
      ORDER BY id DESC LIMIT $3`, [q.registry ?? null, q.status ?? null, q.limit]),
    async get(id) {
      return (await jobs(`outbox job ${id}`, 'SELECT * FROM outbox_jobs WHERE id = $1', [id]))[0] ?? null;
    },
    async retry(id, at) {
      const r = await c.query(`outbox job ${id}`, `UPDATE outbox_jobs SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL
        WHERE id = $2 AND status IN ('parked', 'pending')`, [at, id]);
      return r.rowCount === 1;
    },
    async park(id, reason, now) {
      const r = await c.query(`outbox job ${id}`, `UPDATE outbox_jobs SET status = 'parked', last_error = $1 WHERE id = $2 AND status = 'pending'
        AND (lease_until IS NULL OR lease_until <= $3)`, [reason, id, now]);
      return r.rowCount === 1;
    },
  };
}

/** Named leases: take-if-free-expired-or-mine is one INSERT .. ON CONFLICT DO UPDATE .. WHERE. */
export function createLeaseRepo(c: PgTxContext): LeaseRepo {
  return {
    async acquire(name, holder, now, until) {
      // The conflicting row is locked and the WHERE re-evaluated on its latest version, so of
      // two replicas racing for a free or expired lease exactly one gets rowCount 1.
      const r = await c.query(`lease ${name}`, `INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
        WHERE leases.until <= $4 OR leases.holder = excluded.holder`, [name, holder, until, now]);
      return r.rowCount === 1;
    },
    async release(name, holder) {
      await c.query(`lease ${name}`, 'DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
    },
    async get(name) {
      const r = (await c.query(`lease ${name}`, 'SELECT holder, until FROM leases WHERE name = $1', [name])).rows[0];
      return r ? { holder: r.holder as string, until: r.until as string } : null;
    },
  };
}
