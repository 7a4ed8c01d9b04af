/**
 * Issue 18: the change feed delivers each committed audit record once, whether it came through
 * this process's bus or the shared poll of the audit sequence; the observed store publishes only
 * committed writes; the line window folds records into per-station counts, label data and alerts.
 */
import t from 'tap';
import { ChangeBus, observeChanges } from '../../../server/services/change-bus.js';
import { ChangeFeed } from '../../../server/services/change-feed.js';
import { LineWindow } from '../../../server/services/line-window.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { AuditRecord } from '../../../server/store/store.js';

const rec = (seq: number, action: string, actor: string, subject: string, detail: Record<string, unknown> | null, at: string): AuditRecord =>
  ({ seq, at, action, actor, subject, detail: detail && JSON.stringify(detail), prevHash: '', hash: String(seq) });

t.test('observed store: committed audit records reach the bus once; rolled-back ones never', async (t) => {
  const raw = new SqliteStore(`${t.testdir()}/k.db`);
  t.teardown(() => raw.close());
  const bus = new ChangeBus();
  const store = observeChanges(raw, bus);
  const got: string[] = [];
  bus.subscribe((rs) => got.push(...rs.map((r) => r.action)));
  await store.transaction((tx) => tx.audit.append({ action: 'a.one', actor: 'x' }));
  await t.rejects(store.transaction(async (tx) => {
    await tx.audit.append({ action: 'a.rolled-back', actor: 'x' });
    throw new Error('no');
  }));
  await store.transaction((tx) => tx.audit.appendMany([{ action: 'a.two', actor: 'x' }, { action: 'a.three', actor: 'x' }]));
  t.same(got, ['a.one', 'a.two', 'a.three']);
});

t.test('change feed: bus and poll deliver each record once, polled once a tick for every listener', async (t) => {
  const log: AuditRecord[] = [];
  let polls = 0;
  const bus = new ChangeBus();
  const feed = new ChangeFeed({
    bus, intervalMs: 60_000, headSeq: async () => log.at(-1)?.seq ?? 0,
    auditPage: async (after, limit) => {
      polls++;
      return log.filter((r) => r.seq > after).slice(0, limit);
    },
  });
  log.push(rec(1, 'old', 'x', 's', null, '2026-01-01T00:00:00.000Z'));
  const a: number[] = [];
  const b: number[] = [];
  const offA = await feed.subscribe((rs) => a.push(...rs.map((r) => r.seq)));
  await feed.subscribe((rs) => b.push(...rs.map((r) => r.seq)));
  t.equal(feed.position, 1, 'starts at the head: history is the caller\'s');
  // Record 2 committed here (bus, then the log), 3 by another process (log only).
  log.push(rec(2, 'local', 'x', 's', null, '2026-01-01T00:00:01.000Z'));
  bus.publish([log[1]!]);
  log.push(rec(3, 'remote', 'x', 's', null, '2026-01-01T00:00:02.000Z'));
  await feed.poll();
  t.same(a, [2, 3]);
  t.same(b, [2, 3], 'every listener, from one poll');
  t.equal(polls, 1);
  offA();
});

t.test('line window: counts per station and work order, label data, clone and pause alerts', async (t) => {
  const w = new LineWindow();
  const T = Date.parse('2026-01-01T10:00:00.000Z');
  const at = (s: number) => new Date(T + s * 1000).toISOString();
  w.apply([
    rec(1, 'unit.issued', 'station-01', 'AA', { workOrder: 'WO-1', fingerprint: 'f1', certificateSerial: 'c1' }, at(0)),
    rec(2, 'unit.confirmed', 'station-01', 'AA', { from: 'issued' }, at(1)),
    rec(3, 'unit.issued', 'station-01', 'BB', { workOrder: 'WO-1', fingerprint: 'f2', certificateSerial: 'c2' }, at(2)),
    rec(4, 'unit.quarantined', 'station-01', 'BB', { reason: 'readback' }, at(3)),
    rec(5, 'unit.duplicate_key', 'station-01', 'CC', { workOrder: 'WO-1', existingSerial: 'AA' }, at(4)),
    rec(6, 'station.paused', 'station-01', 'station-01', { workOrder: 'WO-1', since: at(5), until: at(35), reason: 'server unreachable' }, at(36)),
  ]);
  const s = w.snapshot(T + 40_000, [{ id: 'WO-1', product: 'P', quota: 2, issued: 2, stations: null, status: 'open', createdAt: at(0), remaining: 0, registries: ['self'], preregistration: 'confirmed' }]);
  t.match(s.stations, [{ station: 'station-01', issued: 2, good: 1, quarantined: 1, workOrders: ['WO-1'], state: 'paused' }]);
  t.match(s.workOrders, [{ id: 'WO-1', good: 1, quarantined: 1, issued: 2, quota: 2 }]);
  t.same(s.recent.map((u) => [u.serial, u.status, u.fingerprint]), [['BB', 'quarantined', 'f2'], ['AA', 'confirmed', 'f1']], 'one row per unit, newest first, with its label data');
  t.same(s.alerts.map((a) => a.kind).sort(), ['clone', 'paused', 'quota']);
  t.match(s.alerts.find((a) => a.kind === 'clone')?.message, /chip CC presented the public key of unit AA/);
  t.equal(s.series.good['station-01']!.reduce((x, y) => x + y, 0), 1);
  t.equal(s.series.quarantined.reduce((x, y) => x + y, 0), 1);
});
