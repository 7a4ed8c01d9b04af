/**
 * Every SQL statement the SQLite store runs, prepared once per connection (preparing costs more
 * than running these single-row statements), plus the row → record mappers.
 */
import type Database from 'better-sqlite3';
import { CRL_LISTING_SQL } from '../rows.js';
import { prepareEstStatements } from './sqlite-est-statements.js';
import { prepareAttestationStatements } from './sqlite-attestation-statements.js';

const UNIT_COLUMNS = `serial, public_key, fingerprint_sha256, certificate_der, certificate_serial, work_order,
  station, status, status_reason, idempotency_key, issued_at, confirmed_at, updated_at`;

/** Prepares the statement set for one connection. */
export function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    begin: p('BEGIN IMMEDIATE'),
    beginRead: p('BEGIN DEFERRED'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    // insertMany's all-or-nothing step inside the transaction.
    savepoint: p('SAVEPOINT insert_many'),
    savepointRollback: p('ROLLBACK TO SAVEPOINT insert_many'),
    savepointRelease: p('RELEASE SAVEPOINT insert_many'),
    // One shared transaction's own part (sqlite-shared-tx.ts).
    sharedSavepoint: p('SAVEPOINT shared_tx'),
    sharedRollbackTo: p('ROLLBACK TO SAVEPOINT shared_tx'),
    sharedRelease: p('RELEASE SAVEPOINT shared_tx'),
    woInsert: p(`INSERT INTO work_orders (id, product, quota, stations, created_at, preregistration, chip, require_attestation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    woGet: p('SELECT * FROM work_orders WHERE id = ?'),
    woIncrement: p('UPDATE work_orders SET issued = issued + ? WHERE id = ?'),
    woSetStatus: p('UPDATE work_orders SET status = ? WHERE id = ?'),
    woList: p('SELECT * FROM work_orders ORDER BY created_at DESC, id'),
    woSetQuota: p('UPDATE work_orders SET quota = ? WHERE id = ?'),
    woSetStations: p('UPDATE work_orders SET stations = ? WHERE id = ?'),
    unitInsert: p(`INSERT INTO units (${UNIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    unitBySerial: p(`SELECT ${UNIT_COLUMNS} FROM units WHERE serial = ?`),
    unitByKey: p(`SELECT ${UNIT_COLUMNS} FROM units WHERE public_key = ?`),
    // NULL parameters switch a filter off, so one prepared statement serves every combination.
    unitList: p(`SELECT ${UNIT_COLUMNS} FROM units
      WHERE (@wo IS NULL OR work_order = @wo) AND (@status IS NULL OR status = @status) AND serial > @after
      ORDER BY serial LIMIT @limit`),
    unitSetStatus: p(`UPDATE units SET status = ?, status_reason = coalesce(?, status_reason),
      confirmed_at = coalesce(?, confirmed_at), updated_at = ? WHERE serial = ?`),
    stationUpsert: p(`INSERT INTO stations (id, fingerprint, role, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, role = excluded.role`),
    stationGet: p('SELECT * FROM stations WHERE id = ?'),
    auditLast: p('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
    auditInsert: p(`INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    auditList: p('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?'),
    auditCount: p('SELECT count(*) FROM audit_log').pluck(),
    revocationInsert: p(`INSERT INTO revoked_certificates (certificate_serial, kind, subject, reason, revoked_at, revoked_by)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (certificate_serial) DO NOTHING`),
    revocationGet: p('SELECT * FROM revoked_certificates WHERE certificate_serial = ?'),
    // The implicit rowid of revoked_certificates is its insertion sequence (rows are never deleted).
    revocationsSince: p('SELECT rowid AS seq, * FROM revoked_certificates WHERE rowid > ? ORDER BY rowid LIMIT ?'),
    revocationLastSeq: p('SELECT coalesce(max(rowid), 0) FROM revoked_certificates').pluck(),
    // One string per row: better-sqlite3 builds a row object or array in ~1.5-2 µs, a string in ~0.6 µs (100,000 rows).
    revocationsForCrl: p(`SELECT ${CRL_LISTING_SQL} FROM revoked_certificates ORDER BY rowid`).pluck(),
    unitByCertSerial: p(`SELECT ${UNIT_COLUMNS} FROM units WHERE certificate_serial = ?`),
    unitByFingerprint: p(`SELECT ${UNIT_COLUMNS} FROM units WHERE fingerprint_sha256 = ?`),
    unitCounts: p('SELECT station, status, count(*) AS count FROM units WHERE work_order = ? GROUP BY station, status ORDER BY station, status'),
    // The newest records of these subjects (index audit_log_subject, migration 010), returned oldest first.
    auditBySubject: p(`SELECT * FROM (SELECT * FROM audit_log WHERE subject IN (SELECT value FROM json_each(?)) ORDER BY seq DESC LIMIT ?)
      ORDER BY seq`),
    crlLatest: p('SELECT * FROM crl_state WHERE issuer_key_id = ?'),
    crlSave: p(`INSERT INTO crl_state (issuer_key_id, crl_number, this_update, next_update, revocation_seq, der) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (issuer_key_id) DO UPDATE SET crl_number = excluded.crl_number, this_update = excluded.this_update,
      next_update = excluded.next_update, revocation_seq = excluded.revocation_seq, der = excluded.der
      WHERE excluded.crl_number > crl_state.crl_number`),
    caActivationInsert: p('INSERT INTO ca_activations (key_id, activate_at, actor, created_at) VALUES (?, ?, ?, ?) RETURNING *'),
    caActivations: p('SELECT * FROM ca_activations ORDER BY seq'),
    caActivationLastSeq: p('SELECT coalesce(max(seq), 0) FROM ca_activations').pluck(),
    // Only above every stored number: an older root CRL never comes back (RFC 5280 §5.2.3).
    rootCrlInsert: p(`INSERT INTO root_crls (crl_number, this_update, next_update, der, imported_at) SELECT ?, ?, ?, ?, ?
      WHERE NOT EXISTS (SELECT 1 FROM root_crls WHERE crl_number >= ?)`),
    rootCrlLatest: p('SELECT * FROM root_crls ORDER BY crl_number DESC LIMIT 1'),
    ceremonyImportInsert: p('INSERT INTO ceremony_imports (transcript_id, seq, hash, imported_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    nonceInsert: p('INSERT INTO enroll_nonces (nonce, serial, cert_fingerprint, expires_at, created_at) VALUES (?, ?, ?, ?, ?)'),
    nonceGet: p('SELECT * FROM enroll_nonces WHERE nonce = ?'),
    // Spends a fresh nonce and reads it in one statement (a used or unknown one: nonceGet after).
    nonceUseFresh: p(`UPDATE enroll_nonces SET used = 1 WHERE nonce = ? AND used = 0
      RETURNING nonce, serial, cert_fingerprint, expires_at, 0 AS was_used`),
    noncePurge: p('DELETE FROM enroll_nonces WHERE expires_at < ?'),
    counterGet: p('SELECT last_counter FROM device_counters WHERE serial = ?').pluck(),
    counterSet: p(`INSERT INTO device_counters (serial, last_counter, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (serial) DO UPDATE SET last_counter = excluded.last_counter, updated_at = excluded.updated_at`),
    enrollmentGet: p('SELECT * FROM enrollments WHERE serial = ?'),
    enrollmentInsert: p('INSERT INTO enrollments (serial, counter, grp, method, at) VALUES (?, ?, ?, ?, ?)'),
    // Only for a known unit (the WHERE also disambiguates INSERT … SELECT … ON CONFLICT in SQLite).
    bindingInsert: p(`INSERT INTO broker_bindings (serial, bound_at) SELECT @serial, @at WHERE EXISTS (SELECT 1 FROM units WHERE serial = @serial)
      ON CONFLICT (serial) DO NOTHING`),
    bindingGet: p('SELECT bound_at FROM broker_bindings WHERE serial = ?').pluck(),
    woSetRegistries: p('UPDATE work_orders SET registries = ? WHERE id = ?'),
    jobInsert: p(`INSERT INTO outbox_jobs (serial, registry, action, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *`),
    // Claimed inside a write transaction (BEGIN IMMEDIATE), so two workers never lease one job.
    // Awaiting jobs are due when their next first-connection check is.
    jobsDue: p(`SELECT id FROM outbox_jobs WHERE status IN ('pending', 'awaiting') AND next_attempt_at <= @now
      AND (lease_until IS NULL OR lease_until <= @now) AND (@serial IS NULL OR serial = @serial)
      ORDER BY next_attempt_at, id LIMIT @limit`).pluck(),
    // Read-only probe: is anything due at all (lets an idle worker skip the write lock).
    jobsAnyDue: p(`SELECT EXISTS (SELECT 1 FROM outbox_jobs WHERE status IN ('pending', 'awaiting') AND next_attempt_at <= @now
      AND (lease_until IS NULL OR lease_until <= @now))`).pluck(),
    jobLease: p('UPDATE outbox_jobs SET lease_until = ? WHERE id = ? RETURNING *'),
    // The external id comes from the registration the worker records in the same transaction.
    jobDelivered: p(`UPDATE outbox_jobs SET status = 'delivered', attempts = attempts + 1, delivered_at = @at, lease_until = NULL,
      last_error = NULL, external_id = coalesce((SELECT g.external_id FROM registrations g
        WHERE g.serial = outbox_jobs.serial AND g.registry = outbox_jobs.registry), external_id) WHERE id = @id`),
    jobAwaiting: p(`UPDATE outbox_jobs SET status = 'awaiting', external_id = ?, next_attempt_at = ?, lease_until = NULL,
      last_error = NULL WHERE id = ? AND status IN ('pending', 'awaiting')`),
    jobRelease: p(`UPDATE outbox_jobs SET next_attempt_at = ?, lease_until = NULL WHERE id = ?`),
    // A failed awaiting job stays awaiting (its registration exists; only the check failed).
    jobFailed: p(`UPDATE outbox_jobs SET status = CASE WHEN @park = 1 THEN 'parked' ELSE status END, attempts = attempts + 1,
      last_error = @error, next_attempt_at = @next, lease_until = NULL WHERE id = @id`),
    jobCounts: p('SELECT registry, action, status, count(*) AS count FROM outbox_jobs GROUP BY registry, action, status ORDER BY registry, action, status'),
    jobsAwaiting: p(`SELECT j.* FROM outbox_jobs j JOIN units u ON u.serial = j.serial
      WHERE j.status = 'awaiting' AND (@wo IS NULL OR u.work_order = @wo) ORDER BY j.id`),
    jobsForSerial: p('SELECT * FROM outbox_jobs WHERE serial = ? ORDER BY id'),
    jobGet: p('SELECT * FROM outbox_jobs WHERE id = ?'),
    jobsList: p(`SELECT * FROM outbox_jobs WHERE (@registry IS NULL OR registry = @registry) AND (@status IS NULL OR status = @status)
      ORDER BY id DESC LIMIT @limit`),
    jobRetry: p(`UPDATE outbox_jobs SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL
      WHERE id = ? AND status IN ('parked', 'pending')`),
    jobPark: p(`UPDATE outbox_jobs SET status = 'parked', last_error = ? WHERE id = ? AND status = 'pending'
      AND (lease_until IS NULL OR lease_until <= ?)`),
    jobsParked: p(`SELECT j.* FROM outbox_jobs j JOIN units u ON u.serial = j.serial
      WHERE j.status = 'parked' AND (@wo IS NULL OR u.work_order = @wo) ORDER BY j.id`),
    registrationInsert: p(`INSERT INTO registrations (serial, registry, external_id, registered_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (serial, registry) DO NOTHING`),
    registrationCounts: p('SELECT registry, count(*) AS count FROM registrations GROUP BY registry ORDER BY registry'),
    registrationGet: p('SELECT * FROM registrations WHERE serial = ? AND registry = ?'),
    // Every (unit, registry) its work order names, minus the registered, the delivered and the
    // awaiting (a CA-level registration covers those; reconcile lists them on their own).
    unregistered: p(`SELECT u.serial AS serial, r.value AS registry
      FROM units u JOIN work_orders w ON w.id = u.work_order, json_each(w.registries) r
      WHERE (@wo IS NULL OR u.work_order = @wo) AND u.status != 'revoked'
        AND NOT EXISTS (SELECT 1 FROM registrations g WHERE g.serial = u.serial AND g.registry = r.value)
        AND NOT EXISTS (SELECT 1 FROM outbox_jobs j WHERE j.serial = u.serial AND j.registry = r.value
          AND j.action = 'register' AND j.status IN ('delivered', 'awaiting'))
      ORDER BY u.serial, r.value`),
    leaseAcquire: p(`INSERT INTO leases (name, holder, until) VALUES (@name, @holder, @until)
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
      WHERE leases.until <= @now OR leases.holder = excluded.holder`),
    leaseRelease: p('DELETE FROM leases WHERE name = ? AND holder = ?'),
    leaseGet: p('SELECT holder, until FROM leases WHERE name = ?'),
    registrationsOrphan: p(`SELECT g.* FROM registrations g WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.serial = g.serial)
      ORDER BY g.serial, g.registry`),
    ...prepareEstStatements(db),
    ...prepareAttestationStatements(db),
  };
}

/** The prepared statement set. */
export type Statements = ReturnType<typeof prepareStatements>;
