/**
 * Work orders, units, stations and the audit chain on PostgreSQL (locking: see pg-tx.ts).
 */
import { ConflictError, KeylineError, ValidationError } from '../../../common/errors.js';
import { GENESIS_HASH, canonicalJson, recordHash } from '../../audit/hash-chain.js';
import { normaliseSerialHex, type AuditRepo, type StationRepo, type UnitPage, type UnitRepo, type WorkOrderRepo } from '../store.js';
import type { PgTxContext } from './pg-tx.js';
import { UNIT_COLUMNS, toAudit, toStation, toUnit, toWorkOrder } from './pg-rows.js';

/** Encodes the last serial of a page as an opaque cursor (the SQLite store's format). */
function encodeCursor(serial: string): string {
  return Buffer.from(serial, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined): string {
  if (cursor === undefined || cursor === '') return '';
  const serial = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[0-9A-F]{18}$/.test(serial)) throw new ValidationError('VALIDATION_FAILED', `cursor: '${cursor}' is not a cursor this server issued`);
  return serial;
}

/** Work orders; a write transaction reads them FOR UPDATE, so quota decisions see the latest count. */
export function createWorkOrderRepo(c: PgTxContext): WorkOrderRepo {
  return {
    async create(wo) {
      const preregistration = wo.preregistration ?? 'confirmed';
      const registries = wo.registries ?? ['self'];
      await c.writeLock();
      await c.guarded(`work order ${wo.id}`, `INSERT INTO work_orders (id, product, quota, stations, created_at, preregistration, registries)
        VALUES ($1, $2, $3, $4, $5, $6, $7)`, [wo.id, wo.product, wo.quota, wo.stations === null ? null : JSON.stringify(wo.stations), wo.createdAt, preregistration, JSON.stringify(registries)]);
      return { ...wo, registries, preregistration, issued: 0, status: 'open' as const };
    },
    async get(id) {
      await c.writeLock();
      const r = await c.query(`work order ${id}`, `SELECT * FROM work_orders WHERE id = $1${c.readOnly ? '' : ' FOR UPDATE'}`, [id]);
      return r.rows[0] ? toWorkOrder(r.rows[0]) : null;
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
    getBySerial: (serial) => one(`unit ${serial}`, 'serial', serial),
    getByPublicKey: (publicKey) => one('unit by public key', 'public_key', publicKey),
    getByCertificateSerial: (cs) => one(`unit by certificate serial ${cs}`, 'certificate_serial', normaliseSerialHex(cs)),
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
  return {
    async append(e) {
      const context = `audit ${e.action}`;
      if (c.readOnly) throw new KeylineError('STORE_ERROR', `${context}: append in a read-only transaction`);
      await c.writeLock();
      // A separate statement after the lock: under READ COMMITTED it gets a snapshot taken once
      // the lock is held, so it sees the last record the previous holder committed.
      const last = head ?? (await c.query(context, 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0] as { seq: number; hash: string } | undefined;
      const rec = {
        seq: (last?.seq ?? 0) + 1, at: c.now(), actor: e.actor, action: e.action, subject: e.subject ?? null,
        detail: e.detail === undefined ? null : canonicalJson(e.detail), prevHash: last?.hash ?? GENESIS_HASH,
      };
      const hash = recordHash(rec);
      await c.query(context, `INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [rec.seq, rec.at, rec.actor, rec.action, rec.subject, rec.detail, rec.prevHash, hash]);
      head = { seq: rec.seq, hash };
      return { ...rec, hash };
    },
    async list({ afterSeq, limit }) {
      return (await c.query('audit list', 'SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])).rows.map(toAudit);
    },
    async count() {
      return (await c.query('audit count', 'SELECT count(*)::int AS n FROM audit_log')).rows[0]!.n as number;
    },
  };
}
