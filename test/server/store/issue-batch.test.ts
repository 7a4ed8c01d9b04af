/**
 * Issuance records a group with the batch methods (services/issue-units.ts): on each store the
 * outcomes, rows and audit chain are those of recording one unit at a time, including units of
 * one group that depend on each other, the quota shared by concurrent calls, and the fallback
 * when the database refuses a unit the rules passed.
 */
import t, { type Test } from 'tap';
import pino from 'pino';
import pg from 'pg';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import type { DeviceCertRequest } from '../../../server/ca/device-issuer.js';
import type { UnitOutcome } from '../../../server/services/issuance.js';
import { createIssuePipeline } from '../../../server/services/issue-units.js';
import type { IssueRequest } from '../../../server/services/policies.js';
import { PgStore } from '../../../server/store/postgres/pg-store.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../../server/store/store.js';
import { freshPgDatabase, pgSkipReason } from '../../helpers/postgres.js';
import { chipSerial, fakeIssuer, p256Key } from '../services/helpers.js';

const skip = pgSkipReason();
/** A store, and SQL run on its database over a connection of its own (the test's triggers). */
type Opened = { store: Store; exec(sql: string): Promise<void> };
const stores: Array<[string, (t: Test) => Promise<Opened>, string | false]> = [
  ['sqlite', async (t) => {
    const file = join(t.testdir(), 'k.db');
    return {
      store: new SqliteStore(file),
      async exec(sql) {
        const db = new Database(file);
        try { db.exec(sql); } finally { db.close(); }
      },
    };
  }, false],
  ['postgres', async () => {
    const url = await freshPgDatabase();
    return {
      store: await PgStore.open(url, { pool: 3 }),
      async exec(sql) {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try { await c.query(sql); } finally { await c.end(); }
      },
    };
  }, skip],
];

// The database refuses the registration of one serial: what a failed write after the unit's looks like.
const REFUSE_REGISTRATION: Record<string, (serial: string) => string> = {
  sqlite: (serial) => `CREATE TRIGGER refuse_registration BEFORE INSERT ON registrations WHEN NEW.serial = '${serial}'
    BEGIN SELECT RAISE(ABORT, 'registration refused by the test'); END`,
  postgres: (serial) => `CREATE FUNCTION refuse_registration() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.serial = '${serial}' THEN RAISE EXCEPTION 'registration refused by the test'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER refuse_registration BEFORE INSERT ON registrations FOR EACH ROW EXECUTE FUNCTION refuse_registration()`,
};
const ALLOW_REGISTRATION: Record<string, string> = {
  sqlite: 'DROP TRIGGER refuse_registration',
  postgres: 'DROP TRIGGER refuse_registration ON registrations; DROP FUNCTION refuse_registration()',
};

const req = (over: Partial<IssueRequest> = {}): IssueRequest => ({ serial: chipSerial(), publicKey: p256Key().raw, workOrder: 'WO-1', idempotencyKey: null, ...over });
const codes = (os: UnitOutcome[]) => os.map((o) => (o.ok ? (o.value.replayed ? 'replayed' : 'issued') : o.error.code));

for (const [name, open, skipped] of stores) {
  t.test(name, { skip: skipped }, async (t) => {
    const setup = async (t: Test, quota: number, collide?: { chip: string; serialHex: string }, registries = ['self', 'aws']) => {
      const { store, exec } = await open(t);
      t.teardown(() => store.close());
      await store.transaction((tx) => tx.workOrders.create({ id: 'WO-1', product: 'Sensor', quota, stations: null, createdAt: '2026-01-01T00:00:00.000Z', registries }));
      const inner = fakeIssuer();
      // Optionally hands one chip a certificate serial that is already recorded.
      const issuer = {
        async issue(r: DeviceCertRequest) {
          const c = await inner.issue(r);
          return collide && Buffer.from(r.chipSerial).toString('hex').toUpperCase() === collide.chip ? { ...c, serialHex: collide.serialHex } : c;
        },
      };
      const issue = createIssuePipeline({ store, issuer, now: () => new Date('2026-01-02T00:00:00Z'), log: pino({ level: 'silent' }) });
      const count = () => store.transaction(async (tx) => ({
        issued: (await tx.workOrders.get('WO-1'))!.issued,
        units: (await tx.units.list({ limit: 1000 })).units.length,
        actions: (await tx.audit.list({ afterSeq: 0, limit: 1000 })).map((a) => a.action),
      }));
      return { store, issue, count, exec };
    };

    t.test('units of one group see the ones before them: replay, clone, issue', async (t) => {
      const { store, issue, count } = await setup(t, 10);
      const a = req({ idempotencyKey: 'k-a' });
      const outcomes = await issue([a, { ...a }, req({ publicKey: a.publicKey }), req(), req()], 'station-1');
      t.same(codes(outcomes), ['issued', 'replayed', 'DUPLICATE_KEY', 'issued', 'issued']);
      const [first, again, clone] = outcomes as [UnitOutcome & { ok: true }, UnitOutcome & { ok: true }, UnitOutcome & { ok: false }];
      t.same(Buffer.from(again.value.certificateDer), Buffer.from(first.value.certificateDer), 'the replay is the certificate recorded');
      t.equal(clone.error.detail?.existingSerial, a.serial);
      t.same(await count(), { issued: 3, units: 3, actions: ['unit.issued', 'unit.duplicate_key', 'unit.issued', 'unit.issued'] });
      const jobs = await store.transaction((tx) => tx.outbox.jobsFor(a.serial));
      t.same(jobs.map((j) => j.registry), ['aws'], 'a job for each registry of the order but self');
      t.match(await store.transaction((tx) => tx.outbox.getRegistration(a.serial, 'self')), { externalId: `keyline:${a.serial}` }, 'self registered with the unit');
      t.match(await verifyAuditChain(store), { ok: true, count: 4 });
      // The next group continues the chain and sees the recorded units.
      t.same(codes(await issue([{ ...a }, req()], 'station-1')), ['replayed', 'issued']);
      t.match(await verifyAuditChain(store), { ok: true, count: 5 });
    });

    t.test('concurrent calls sharing a group stop exactly at the quota', async (t) => {
      const { store, issue, count } = await setup(t, 5);
      const results = await Promise.all([issue([req(), req(), req()], 's1'), issue([req(), req(), req()], 's2')]);
      const all = results.flat();
      t.equal(all.filter((o) => o.ok).length, 5);
      t.same(all.filter((o) => !o.ok).map((o) => !o.ok && o.error.code), ['QUOTA_EXCEEDED']);
      t.match(await count(), { issued: 5, units: 5 });
      t.match(await verifyAuditChain(store), { ok: true, count: 5 });
    });

    t.test('a unit the database refuses: the group is recorded one by one, the others go in', async (t) => {
      const x = req();
      const z = req();
      let taken = '';
      const { store, issue, count } = await setup(t, 10, { chip: z.serial, get serialHex() { return taken; } });
      const [ox] = await issue([x], 's1');
      taken = (ox as UnitOutcome & { ok: true }).value.certificateSerial;
      t.same(codes(await issue([req(), z, req()], 's1')), ['issued', 'SERIAL_EXISTS', 'issued']);
      t.equal(await store.transaction((tx) => tx.units.getBySerial(z.serial)), null);
      t.same(await count(), { issued: 3, units: 3, actions: ['unit.issued', 'unit.issued', 'unit.issued'] });
      t.equal((await store.transaction((tx) => tx.outbox.jobCounts())).reduce((n, c) => n + c.count, 0), 3, 'jobs only for the recorded units');
      t.same(await store.transaction((tx) => tx.outbox.registrationCounts()), [{ registry: 'self', count: 3 }], 'self registrations only for the recorded units');
      t.equal(await store.transaction((tx) => tx.outbox.getRegistration(z.serial, 'self')), null);
      t.match(await verifyAuditChain(store), { ok: true, count: 3 });
    });

    t.test('a unit and its self registration commit or roll back together (issue 13)', async (t) => {
      const { store, issue, count, exec } = await setup(t, 10, undefined, ['self']);
      const [a, b, c] = [req(), req(), req()];
      await exec(REFUSE_REGISTRATION[name]!(b.serial));
      // The group's transaction fails at b's registration, after every unit row went in: none stays.
      await t.rejects(issue([a, b, c], 's1'));
      t.same(await count(), { issued: 0, units: 0, actions: [] }, 'no unit, issued count or audit record without its registration');
      t.same(await store.transaction((tx) => tx.outbox.registrationCounts()), [], 'and no registration without its unit');
      // Alone as well.
      await t.rejects(issue([b], 's1'));
      t.equal(await store.transaction((tx) => tx.units.getBySerial(b.serial)), null);
      await exec(ALLOW_REGISTRATION[name]!);
      t.same(codes(await issue([a, b, c], 's1')), ['issued', 'issued', 'issued']);
      for (const u of [a, b, c]) {
        t.same(await store.transaction((tx) => tx.outbox.getRegistration(u.serial, 'self')),
          { serial: u.serial, registry: 'self', externalId: `keyline:${u.serial}`, registeredAt: '2026-01-02T00:00:00.000Z' }, 'committed with its unit');
      }
      t.same(await store.transaction((tx) => tx.outbox.jobCounts()), [], 'no outbox job: nothing left to deliver');
      t.same(await store.transaction((tx) => tx.outbox.unregistered()), []);
    });
  });
}
