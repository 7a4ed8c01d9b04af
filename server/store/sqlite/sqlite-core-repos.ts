/**
 * Work orders, units, stations and the audit chain on SQLite (one writer at a time: BEGIN
 * IMMEDIATE, see sqlite-store.ts).
 */
import { KeylineError, ValidationError } from '../../../common/errors.js';
import {
  normaliseSerialHex, type AuditEntry, type AuditRecord, type AuditRepo, type StationRepo, type UnitPage, type UnitQuery, type UnitRecord, type UnitRepo, type UnitStatusCount, type WorkOrderRepo,
} from '../store.js';
import { toAudit, toStation, toUnit, toWorkOrder, type Row } from '../rows.js';
import { chainRecord } from '../audit-chain.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { mapSqliteError } from './sqlite-errors.js';
import type { SqliteTxContext } from './sqlite-tx-context.js';

const unitParams = (u: UnitRecord) => [u.serial, u.publicKey, u.fingerprintSha256, u.certificateDer, u.certificateSerial, u.workOrder,
  u.station, u.status, u.statusReason, u.idempotencyKey, u.issuedAt, u.confirmedAt, u.updatedAt];

/** Work orders; the stations and registries lists are JSON text columns. */
export function createWorkOrderRepo(c: SqliteTxContext): WorkOrderRepo {
  const { s, run } = c;
  return {
    create: (wo) =>
      run(`work order ${wo.id}`, () => {
        const preregistration = wo.preregistration ?? 'confirmed';
        const chip = wo.chip ?? 'atecc608';
        const requireAttestation = wo.requireAttestation ?? false;
        s.woInsert.run(wo.id, wo.product, wo.quota, wo.stations === null ? null : JSON.stringify(wo.stations), wo.createdAt, preregistration, chip, requireAttestation ? 1 : 0);
        if (wo.registries !== undefined) s.woSetRegistries.run(JSON.stringify(wo.registries), wo.id);
        return { ...wo, registries: wo.registries ?? ['self'], preregistration, chip, requireAttestation, issued: 0, status: 'open' as const };
      }),
    get: (id) => run(`work order ${id}`, () => {
      const r = s.woGet.get(id) as Row | undefined;
      return r ? toWorkOrder(r) : null;
    }),
    getMany: (ids) => run('work orders', () =>
      [...new Set(ids)].flatMap((id) => {
        const r = s.woGet.get(id) as Row | undefined;
        return r ? [toWorkOrder(r)] : [];
      })),
    incrementIssued: (id, n = 1) =>
      run(`work order ${id}`, () => {
        if (s.woIncrement.run(n, id).changes !== 1) throw new KeylineError('UNKNOWN_WORK_ORDER', `work order ${id}: not found`);
      }),
    setStatus: (id, status) =>
      run(`work order ${id}`, () => {
        if (s.woSetStatus.run(status, id).changes !== 1) throw new KeylineError('UNKNOWN_WORK_ORDER', `work order ${id}: not found`);
      }),
    list: () => run('work orders', () => (s.woList.all() as Row[]).map(toWorkOrder)),
    update: (id, patch) =>
      run(`work order ${id}`, () => {
        if (!s.woGet.get(id)) throw new KeylineError('UNKNOWN_WORK_ORDER', `work order ${id}: not found`);
        if (patch.quota !== undefined) s.woSetQuota.run(patch.quota, id);
        if (patch.stations !== undefined) s.woSetStations.run(patch.stations === null ? null : JSON.stringify(patch.stations), id);
      }),
  };
}

/** Units, looked up by serial, public key or certificate serial. */
export function createUnitRepo(c: SqliteTxContext): UnitRepo {
  const { s, run } = c;
  return {
    insert: (u: UnitRecord) =>
      run(`unit ${u.serial}`, () => {
        s.unitInsert.run(...unitParams(u));
      }),
    insertMany: (units) =>
      run('units', () => {
        // A savepoint makes the batch all or nothing; a refused row leaves the transaction usable.
        s.savepoint.run();
        try {
          for (const u of units) s.unitInsert.run(...unitParams(u));
          s.savepointRelease.run();
          return true;
        } catch (err) {
          s.savepointRollback.run();
          s.savepointRelease.run();
          const code = mapSqliteError(err, 'units').code;
          if (code === 'SERIAL_EXISTS' || code === 'DUPLICATE_KEY') return false;
          throw err;
        }
      }),
    getBySerial: (serial) => run(`unit ${serial}`, () => {
      const r = s.unitBySerial.get(serial) as Row | undefined;
      return r ? toUnit(r) : null;
    }),
    getByPublicKey: (publicKey) => run('unit by public key', () => {
      const r = s.unitByKey.get(publicKey) as Row | undefined;
      return r ? toUnit(r) : null;
    }),
    findBySerialsOrKeys: (serials, publicKeys) => run('units by serial or key', () => {
      const found = new Map<string, UnitRecord>();
      for (const r of [...serials.map((x) => s.unitBySerial.get(x)), ...publicKeys.map((k) => s.unitByKey.get(k))] as Array<Row | undefined>) {
        if (r) found.set(r.serial as string, toUnit(r));
      }
      return [...found.values()];
    }),
    getByCertificateSerial: (cs) => run(`unit by certificate serial ${cs}`, () => {
      const r = s.unitByCertSerial.get(normaliseSerialHex(cs)) as Row | undefined;
      return r ? toUnit(r) : null;
    }),
    getByFingerprint: (fp) => run('unit by fingerprint', () => {
      const r = s.unitByFingerprint.get(fp.toLowerCase()) as Row | undefined;
      return r ? toUnit(r) : null;
    }),
    countByStatus: (wo) => run(`unit counts ${wo}`, () => s.unitCounts.all(wo) as UnitStatusCount[]),
    list: (q: UnitQuery = {}) =>
      run('units list', (): UnitPage => {
        const limit = q.limit ?? 100;
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('VALIDATION_FAILED', `limit: must be 1..1000, got ${limit}`);
        // Fetch one extra row to know whether a next page exists without a count query.
        const rows = s.unitList.all({ wo: q.workOrder ?? null, status: q.status ?? null, after: decodeCursor(q.cursor), limit: limit + 1 }) as Row[];
        const units = rows.slice(0, limit).map(toUnit);
        return { units, nextCursor: rows.length > limit ? encodeCursor(units[units.length - 1]!.serial) : null };
      }),
    setStatus: (serial, status, o) =>
      run(`unit ${serial}`, () => {
        if (s.unitSetStatus.run(status, o.reason ?? null, o.confirmedAt ?? null, o.at, serial).changes !== 1) {
          throw new KeylineError('UNKNOWN_UNIT', `unit ${serial}: not found`);
        }
      }),
  };
}

/** Stations and their certificate fingerprints. */
export function createStationRepo(c: SqliteTxContext): StationRepo {
  const { s, run } = c;
  return {
    upsert: (st) => run(`station ${st.id}`, () => {
      s.stationUpsert.run(st.id, st.fingerprint, st.role, st.createdAt);
      return toStation(s.stationGet.get(st.id) as Row);
    }),
    get: (id) => run(`station ${id}`, () => {
      const r = s.stationGet.get(id) as Row | undefined;
      return r ? toStation(r) : null;
    }),
  };
}

/** The audit chain; appends run inside the write transaction (BEGIN IMMEDIATE). */
export function createAuditRepo(c: SqliteTxContext): AuditRepo {
  const { s, run } = c;
  const appendOne = (e: AuditEntry): AuditRecord => {
    // The last hash is read inside this write transaction (BEGIN IMMEDIATE), so two
    // processes sharing the file can never chain two records to the same predecessor.
    const rec = chainRecord(e, s.auditLast.get() as { seq: number; hash: string } | undefined, c.now());
    s.auditInsert.run(rec.seq, rec.at, rec.actor, rec.action, rec.subject, rec.detail, rec.prevHash, rec.hash);
    return rec;
  };
  return {
    append: (e) => run(`audit ${e.action}`, () => appendOne(e)),
    appendMany: (entries) => run('audit', () => entries.map(appendOne)),
    list: ({ afterSeq, limit }) => run('audit list', () => (s.auditList.all(afterSeq, limit) as Row[]).map(toAudit)),
    count: () => run('audit count', () => s.auditCount.get() as number),
    listBySubject: (subjects, limit) => run('audit by subject', () => (s.auditBySubject.all(JSON.stringify(subjects), limit) as Row[]).map(toAudit)),
    head: () => run('audit head', () => (s.auditLast.get() as { seq: number; hash: string } | undefined) ?? null),
  };
}
