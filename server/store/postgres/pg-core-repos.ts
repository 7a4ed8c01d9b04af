/**
 * Work orders, units, stations and the audit chain on PostgreSQL (locking: see pg-tx.ts).
 */
import { ConflictError, KeylineError, ValidationError } from '../../../common/errors.js';
import { normaliseSerialHex, type AuditEntry, type AuditRecord, type AuditRepo, type UnitRecord, type StationRepo, type UnitPage, type UnitRepo, type UnitStatusCount, type WorkOrderRepo } from '../store.js';
import type { PgTxContext } from './pg-tx-context.js';
import { toAudit, toStation, toUnit, toWorkOrder } from '../rows.js';
import { UNIT_COLUMNS } from './pg-rows.js';
import { chainRecord } from '../audit-chain.js';
import { decodeCursor, encodeCursor } from '../cursor.js';

/** Work orders; a write transaction reads them FOR UPDATE, so quota decisions see the latest count. */
export function createWorkOrderRepo(c: PgTxContext): WorkOrderRepo {
  return {
    async create(wo) {
      const preregistration = wo.preregistration ?? 'confirmed';
      const registries = wo.registries ?? ['self'];
      const chip = wo.chip ?? 'atecc608';
      const requireAttestation = wo.requireAttestation ?? false;
      await c.writeLock();
      await c.guarded(`work order ${wo.id}`, `INSERT INTO work_orders (id, product, quota, stations, created_at, preregistration, registries, chip, require_attestation)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [wo.id, wo.product, wo.quota, wo.stations === null ? null : JSON.stringify(wo.stations), wo.createdAt, preregistration, JSON.stringify(registries), chip, requireAttestation ? 1 : 0]);
      return { ...wo, registries, preregistration, chip, requireAttestation, issued: 0, status: 'open' as const };
    },
    async get(id) {
      await c.writeLock();
      const r = await c.query(`work order ${id}`, `SELECT * FROM work_orders WHERE id = $1${c.readOnly ? '' : ' FOR UPDATE'}`, [id]);
      return r.rows[0] ? toWorkOrder(r.rows[0]) : null;
    },
    async getMany(ids) {
      await c.writeLock();
      // ORDER BY id: row locks in one order whatever order the caller named the orders in.
      const r = await c.query('work orders', `SELECT * FROM work_orders WHERE id = ANY($1::text[]) ORDER BY id${c.readOnly ? '' : ' FOR UPDATE'}`, [[...new Set(ids)]]);
      return r.rows.map(toWorkOrder);
    },
    async incrementIssued(id, n = 1) {
      await c.writeLock();
      // One conditional UPDATE: the row lock it takes and the re-check of the WHERE on the
      // latest row version make it atomic across replicas; the CHECK constraint backs it up.
      const r = await c.query(`work order ${id}`, 'UPDATE work_orders SET issued = issued + $1 WHERE id = $2 AND issued + $1 <= quota RETURNING id', [n, id]);
      if (r.rowCount === 1) return;
      const exists = await c.query(`work order ${id}`, 'SELECT 1 FROM work_orders WHERE id = $1', [id]);
      if (exists.rowCount === 0) throw new KeylineError('UNKNOWN_WORK_ORDER', `work order ${id}: not found`);
      throw new KeylineError('QUOTA_EXCEEDED', `work order ${id}: quota reached`);
    },
    async setStatus(id, status) {
      await c.writeLock();
      const r = await c.query(`work order ${id}`, 'UPDATE work_orders SET status = $1 WHERE id = $2', [status, id]);
      if (r.rowCount !== 1) throw new KeylineError('UNKNOWN_WORK_ORDER', `work order ${id}: not found`);
    },
    async list() {
      await c.writeLock();
      const r = await c.query('work orders', 'SELECT * FROM work_orders ORDER BY created_at DESC, id');
      return r.rows.map(toWorkOrder);
    },
    async update(id, patch) {
      await c.writeLock();
      // One statement: a field left out keeps its value ($2/$4 say whether it was given).
      const r = await c.query(`work order ${id}`, `UPDATE work_orders SET quota = CASE WHEN $2 THEN $3::integer ELSE quota END,
        stations = CASE WHEN $4 THEN $5::text ELSE stations END WHERE id = $1`,
      [id, patch.quota !== undefined, patch.quota ?? null, patch.stations !== undefined, patch.stations ? JSON.stringify(patch.stations) : null]);
      if (r.rowCount !== 1) throw new KeylineError('UNKNOWN_WORK_ORDER', `work order ${id}: not found`);
    },
  };
}

/** Units; uniqueness of serial, key, fingerprint and certificate serial is the database's. */
export function createUnitRepo(c: PgTxContext): UnitRepo {
  const one = async (context: string, where: string, value: unknown) => {
    await c.writeLock();
    const r = await c.query(context, `SELECT ${UNIT_COLUMNS} FROM units WHERE ${where} = $1`, [value]);
    return r.rows[0] ? toUnit(r.rows[0]) : null;
  };
  return {
    async insert(u) {
      await c.writeLock();
      const context = `unit ${u.serial}`;
      // ON CONFLICT DO NOTHING instead of a savepoint on this hot path: a conflict leaves the
      // transaction usable (callers record a refusal and go on), then one query names it.
      const r = await c.query(context, `INSERT INTO units (${UNIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT DO NOTHING RETURNING serial`, [u.serial, u.publicKey, u.fingerprintSha256, u.certificateDer, u.certificateSerial,
        u.workOrder, u.station, u.status, u.statusReason, u.idempotencyKey, u.issuedAt, u.confirmedAt, u.updatedAt]);
      if (r.rowCount === 1) return;
      const hit = (await c.query(context, `SELECT serial, serial = $1 AS s, public_key = $2 AS k FROM units
        WHERE serial = $1 OR public_key = $2 OR fingerprint_sha256 = $3 OR certificate_serial = $4
        ORDER BY (serial = $1) DESC, (public_key = $2) DESC LIMIT 1`, [u.serial, u.publicKey, u.fingerprintSha256, u.certificateSerial])).rows[0];
      // Same precedence as SQLite's index order: serial, then public key, then the certificate.
      if (hit?.s) throw new ConflictError('SERIAL_EXISTS', `${context}: units.serial already recorded`, { detail: { field: 'units.serial' } });
      if (hit?.k) throw new ConflictError('DUPLICATE_KEY', `${context}: units.public_key already recorded`, { detail: { field: 'units.public_key', existingSerial: hit.serial } });
      throw new ConflictError('SERIAL_EXISTS', `${context}: certificate already recorded`, { detail: { field: 'units.certificate_serial' } });
    },
    async insertMany(units) {
      if (units.length === 0) return true;
      await c.writeLock();
      // One statement over column arrays (unnest); ON CONFLICT DO NOTHING skips a refused row
      // (against the table or an earlier row of the batch) without aborting the transaction, and
      // the savepoint then takes back the rows that did go in.
      const col = <K extends keyof UnitRecord>(k: K) => units.map((u) => u[k]);
      return c.atomically('units', async () => {
        const r = await c.query('units', `INSERT INTO units (${UNIT_COLUMNS})
          SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
          ON CONFLICT DO NOTHING`, [col('serial'), col('publicKey'), col('fingerprintSha256'), col('certificateDer'), col('certificateSerial'),
          col('workOrder'), col('station'), col('status'), col('statusReason'), col('idempotencyKey'), col('issuedAt'), col('confirmedAt'), col('updatedAt')]);
        return r.rowCount === units.length;
      });
    },
    async findBySerialsOrKeys(serials, publicKeys) {
      await c.writeLock();
      const r = await c.query('units by serial or key', `SELECT ${UNIT_COLUMNS} FROM units WHERE serial = ANY($1::text[]) OR public_key = ANY($2::bytea[])`,
        [serials, publicKeys]);
      return r.rows.map(toUnit);
    },
    getBySerial: (serial) => one(`unit ${serial}`, 'serial', serial),
    getByPublicKey: (publicKey) => one('unit by public key', 'public_key', publicKey),
    getByCertificateSerial: (cs) => one(`unit by certificate serial ${cs}`, 'certificate_serial', normaliseSerialHex(cs)),
    getByFingerprint: (fp) => one('unit by fingerprint', 'fingerprint_sha256', fp.toLowerCase()),
    async countByStatus(wo) {
      const r = await c.query(`unit counts ${wo}`, `SELECT station, status, count(*)::int AS count FROM units WHERE work_order = $1
        GROUP BY station, status ORDER BY station COLLATE "C", status COLLATE "C"`, [wo]);
      return r.rows.map((row): UnitStatusCount => ({ station: row.station as string, status: row.status as UnitStatusCount['status'], count: row.count as number }));
    },
    async list(q = {}): Promise<UnitPage> {
      const limit = q.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('VALIDATION_FAILED', `limit: must be 1..1000, got ${limit}`);
      // Fetch one extra row to know whether a next page exists without a count query.
      const r = await c.query('units list', `SELECT ${UNIT_COLUMNS} FROM units WHERE ($1::text IS NULL OR work_order = $1)
        AND ($2::text IS NULL OR status = $2) AND serial > $3 ORDER BY serial LIMIT $4`,
      [q.workOrder ?? null, q.status ?? null, decodeCursor(q.cursor), limit + 1]);
      const units = r.rows.slice(0, limit).map(toUnit);
      return { units, nextCursor: r.rows.length > limit ? encodeCursor(units[units.length - 1]!.serial) : null };
    },
    async setStatus(serial, status, o) {
      await c.writeLock();
      const r = await c.query(`unit ${serial}`, `UPDATE units SET status = $1, status_reason = coalesce($2, status_reason),
        confirmed_at = coalesce($3, confirmed_at), updated_at = $4 WHERE serial = $5`, [status, o.reason ?? null, o.confirmedAt ?? null, o.at, serial]);
      if (r.rowCount !== 1) throw new KeylineError('UNKNOWN_UNIT', `unit ${serial}: not found`);
    },
  };
}

/** Stations. */
export function createStationRepo(c: PgTxContext): StationRepo {
  return {
    async upsert(st) {
      await c.writeLock();
      const r = await c.query(`station ${st.id}`, `INSERT INTO stations (id, fingerprint, role, created_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, role = excluded.role RETURNING *`, [st.id, st.fingerprint, st.role, st.createdAt]);
      return toStation(r.rows[0]!);
    },
    async get(id) {
      await c.writeLock();
      const r = await c.query(`station ${id}`, 'SELECT * FROM stations WHERE id = $1', [id]);
      return r.rows[0] ? toStation(r.rows[0]) : null;
    },
  };
}

/** The audit chain: appends hold the write lock, so no two records ever share a predecessor. */
export function createAuditRepo(c: PgTxContext): AuditRepo {
  // The chain's head as this transaction left it: the write lock is held until commit, so no
  // one else can append meanwhile and later appends need not read it again.
  let head: { seq: number; hash: string } | undefined;
  const appendAll = async (context: string, entries: AuditEntry[]): Promise<AuditRecord[]> => {
    if (c.readOnly) throw new KeylineError('STORE_ERROR', `${context}: append in a read-only transaction`);
    if (entries.length === 0) return [];
    await c.writeLock();
    // A separate statement after the lock: under READ COMMITTED it gets a snapshot taken once
    // the lock is held, so it sees the last record the previous holder committed.
    let last = head ?? (await c.query(context, 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0] as { seq: number; hash: string } | undefined;
    // The chain is computed here, each record hashing the one before (audit-chain.ts); the rows
    // then go in with one statement.
    const records = entries.map((e): AuditRecord => {
      const rec = chainRecord(e, last, c.now());
      last = { seq: rec.seq, hash: rec.hash };
      return rec;
    });
    const col = <K extends keyof AuditRecord>(k: K) => records.map((r) => r[k]);
    await c.query(context, records.length === 1
      ? 'INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)'
      : `INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
        SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
    records.length === 1
      ? [records[0]!.seq, records[0]!.at, records[0]!.actor, records[0]!.action, records[0]!.subject, records[0]!.detail, records[0]!.prevHash, records[0]!.hash]
      : [col('seq'), col('at'), col('actor'), col('action'), col('subject'), col('detail'), col('prevHash'), col('hash')]);
    head = last;
    return records;
  };
  return {
    append: async (e) => (await appendAll(`audit ${e.action}`, [e]))[0]!,
    appendMany: (entries) => appendAll('audit', entries),
    async list({ afterSeq, limit }) {
      return (await c.query('audit list', 'SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])).rows.map(toAudit);
    },
    async count() {
      return (await c.query('audit count', 'SELECT count(*)::int AS n FROM audit_log')).rows[0]!.n as number;
    },
    async listBySubject(subjects, limit) {
      // The newest records of these subjects (index audit_log_subject, migration 010), returned oldest first.
      const r = await c.query('audit by subject', `SELECT * FROM (SELECT * FROM audit_log WHERE subject = ANY($1::text[]) ORDER BY seq DESC LIMIT $2) a
        ORDER BY seq`, [subjects, limit]);
      return r.rows.map(toAudit);
    },
    async head() {
      const r = (await c.query('audit head', 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0];
      return r ? { seq: Number(r.seq), hash: r.hash as string } : null;
    },
  };
}
