/**
 * The repositories of one SQLite transaction. They run prepared statements synchronously and
 * return promises only to honour the async Store interface a PostgreSQL store also implements.
 */
import { KeylineError, ValidationError } from '../../../common/errors.js';
import { GENESIS_HASH, canonicalJson, recordHash } from '../../audit/hash-chain.js';
import { normaliseSerialHex, type AuditEntry, type AuditRecord, type OutboxJobCount, type OutboxRepo, type Tx, type UnitPage, type UnitQuery, type UnitRecord } from '../store.js';
import { mapSqliteError } from './sqlite-errors.js';
import { toAudit, toEnrollment, toNonce, toOutboxJob, toRegistration, toRevocation, toStation, toUnit, toWorkOrder } from '../rows.js';
import type { Statements } from './sqlite-statements.js';
import { decodeCursor, encodeCursor } from '../cursor.js';

type Row = Record<string, unknown>;

const unitParams = (u: UnitRecord) => [u.serial, u.publicKey, u.fingerprintSha256, u.certificateDer, u.certificateSerial, u.workOrder,
  u.station, u.status, u.statusReason, u.idempotencyKey, u.issuedAt, u.confirmedAt, u.updatedAt];

/** Builds the Tx object; `live()` turns false once the transaction ends, making it unusable. */
export function createSqliteTx(s: Statements, live: () => boolean, now: () => string): Tx {
  // Every repo call goes through run(): refuse after commit, and map driver errors once.
  const run = <T>(context: string, fn: () => T): Promise<T> => {
    if (!live()) return Promise.reject(new KeylineError('STORE_ERROR', `${context}: the transaction has already ended`));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(mapSqliteError(err, context));
    }
  };

  const appendOne = (e: AuditEntry): AuditRecord => {
    // The last hash is read inside this write transaction (BEGIN IMMEDIATE), so two
    // processes sharing the file can never chain two records to the same predecessor.
    const last = s.auditLast.get() as { seq: number; hash: string } | undefined;
    const rec = {
      seq: (last?.seq ?? 0) + 1,
      at: now(),
      actor: e.actor,
      action: e.action,
      subject: e.subject ?? null,
      detail: e.detail === undefined ? null : canonicalJson(e.detail),
      prevHash: last?.hash ?? GENESIS_HASH,
    };
    const hash = recordHash(rec);
    s.auditInsert.run(rec.seq, rec.at, rec.actor, rec.action, rec.subject, rec.detail, rec.prevHash, hash);
    return { ...rec, hash };
  };

  return {
    workOrders: {
      create: (wo) =>
        run(`work order ${wo.id}`, () => {
          const preregistration = wo.preregistration ?? 'confirmed';
          s.woInsert.run(wo.id, wo.product, wo.quota, wo.stations === null ? null : JSON.stringify(wo.stations), wo.createdAt, preregistration);
          if (wo.registries !== undefined) s.woSetRegistries.run(JSON.stringify(wo.registries), wo.id);
          return { ...wo, registries: wo.registries ?? ['self'], preregistration, issued: 0, status: 'open' as const };
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
    },
    units: {
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
    },
    stations: {
      upsert: (st) => run(`station ${st.id}`, () => {
        s.stationUpsert.run(st.id, st.fingerprint, st.role, st.createdAt);
        return toStation(s.stationGet.get(st.id) as Row);
      }),
      get: (id) => run(`station ${id}`, () => {
        const r = s.stationGet.get(id) as Row | undefined;
        return r ? toStation(r) : null;
      }),
    },
    audit: {
      append: (e) => run(`audit ${e.action}`, () => appendOne(e)),
      appendMany: (entries) => run('audit', () => entries.map(appendOne)),
      list: ({ afterSeq, limit }) => run('audit list', () => (s.auditList.all(afterSeq, limit) as Row[]).map(toAudit)),
      count: () => run('audit count', () => s.auditCount.get() as number),
    },
    revocations: {
      add: (r) => run(`revocation ${r.certificateSerial}`, () => {
        const serial = normaliseSerialHex(r.certificateSerial);
        s.revocationInsert.run(serial, r.kind, r.subject, r.reason, r.revokedAt, r.revokedBy);
        return toRevocation(s.revocationGet.get(serial) as Row);
      }),
      get: (serial) => run(`revocation ${serial}`, () => {
        const row = s.revocationGet.get(normaliseSerialHex(serial)) as Row | undefined;
        return row ? toRevocation(row) : null;
      }),
      listSince: (afterSeq, limit = -1) => run('revocations list', () =>
        (s.revocationsSince.all(afterSeq, limit) as Row[]).map((r) => ({ ...toRevocation(r), seq: r.seq as number }))),
      lastSeq: () => run('revocations seq', () => s.revocationLastSeq.get() as number),
    },
    crls: {
      latest: () => run('crl latest', () => {
        const r = s.crlLatest.get() as Row | undefined;
        return r ? { number: r.crl_number as number, thisUpdate: r.this_update as string, nextUpdate: r.next_update as string, revocationSeq: r.revocation_seq as number, der: r.der as Uint8Array } : null;
      }),
      save: (c) => run(`crl ${c.number}`, () => {
        if (s.crlSave.run(c.number, c.thisUpdate, c.nextUpdate, c.revocationSeq, c.der).changes !== 1) {
          throw new KeylineError('STORE_ERROR', `crl number ${c.number}: not greater than the stored CRL's number`);
        }
      }),
    },
    enrollment: {
      addNonce: (n) => run(`nonce for ${n.serial}`, () => {
        s.nonceInsert.run(n.nonce, n.serial, n.certFingerprint, n.expiresAt, now());
      }),
      useNonce: (nonce) => run('nonce', () => {
        const row = s.nonceGet.get(nonce) as Row | undefined;
        if (!row) return null;
        s.nonceUse.run(nonce);
        return toNonce(row);
      }),
      purgeNonces: (before) => run('nonce purge', () => s.noncePurge.run(before).changes),
      lastCounter: (serial) => run(`counter ${serial}`, () => (s.counterGet.get(serial) as number | undefined) ?? null),
      setLastCounter: (serial, counter, at) => run(`counter ${serial}`, () => void s.counterSet.run(serial, counter, at)),
      get: (serial) => run(`enrollment ${serial}`, () => {
        const row = s.enrollmentGet.get(serial) as Row | undefined;
        return row ? toEnrollment(row) : null;
      }),
      insert: (e) => run(`enrollment ${e.serial}`, () => void s.enrollmentInsert.run(e.serial, e.counter, e.group, e.method, e.at)),
      bindCertificate: (serial, at) => run(`broker binding ${serial}`, () => void s.bindingInsert.run({ serial, at })),
      certificateBinding: (serial) => run(`broker binding ${serial}`, () => (s.bindingGet.get(serial) as string | undefined) ?? null),
    },
    outbox: ({
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
      awaiting: (wo) => run('outbox awaiting', () => (s.jobsAwaiting.all({ wo: wo ?? null }) as Row[]).map(toOutboxJob)),
      jobsFor: (serial) => run(`outbox jobs ${serial}`, () => (s.jobsForSerial.all(serial) as Row[]).map(toOutboxJob)),
      parked: (wo) => run('outbox parked', () => (s.jobsParked.all({ wo: wo ?? null }) as Row[]).map(toOutboxJob)),
      addRegistration: (r) => run(`registration ${r.registry} ${r.serial}`, () => {
        s.registrationInsert.run(r.serial, r.registry, r.externalId, r.registeredAt);
        return toRegistration(s.registrationGet.get(r.serial, r.registry) as Row);
      }),
      getRegistration: (serial, registry) => run(`registration ${registry} ${serial}`, () => {
        const r = s.registrationGet.get(serial, registry) as Row | undefined;
        return r ? toRegistration(r) : null;
      }),
      unregistered: (wo) => run('outbox unregistered', () => s.unregistered.all({ wo: wo ?? null }) as Array<{ serial: string; registry: string }>),
      orphanRegistrations: () => run('orphan registrations', () => (s.registrationsOrphan.all() as Row[]).map(toRegistration)),
    } satisfies OutboxRepo),
    leases: {
      // One upsert statement: the WHERE on DO UPDATE makes take-if-free-or-mine atomic.
      acquire: (name, holder, nowIso, until) => run(`lease ${name}`, () =>
        s.leaseAcquire.run({ name, holder, now: nowIso, until }).changes === 1),
      release: (name, holder) => run(`lease ${name}`, () => void s.leaseRelease.run(name, holder)),
      get: (name) => run(`lease ${name}`, () => {
        const r = s.leaseGet.get(name) as { holder: string; until: string } | undefined;
        return r ? { holder: r.holder, until: r.until } : null;
      }),
    },
  };
}
