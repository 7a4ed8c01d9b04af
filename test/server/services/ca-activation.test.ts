/**
 * The activation rule (issue 19): the newest decision wins, a scheduled switch happens at its
 * time, and a later activation recorded before it calls it off.
 */
import t from 'tap';
import { activationAt } from '../../../server/services/ca-activation.js';
import type { CaActivationRecord } from '../../../server/store/store.js';

let seq = 0;
const row = (keyId: string, activateAt: string, createdAt: string): CaActivationRecord => ({ seq: ++seq, keyId, activateAt, createdAt, actor: 't' });
const at = (iso: string) => new Date(iso);

t.test('no rows: nothing in effect (the first configured CA issues)', async (t) => {
  t.same(activationAt([], at('2030-01-01T00:00:00Z')), {});
});

t.test('a switch scheduled for later happens at its time', async (t) => {
  const rows = [row('aa', '2030-01-01T12:00:00Z', '2030-01-01T00:00:00Z')];
  t.same(activationAt(rows, at('2030-01-01T11:59:59Z')), { pending: rows[0] });
  t.same(activationAt(rows, at('2030-01-01T12:00:00Z')), { current: rows[0] });
});

t.test('a time in the past takes effect when recorded; the latest in effect wins', async (t) => {
  const rows = [row('aa', '2029-01-01T00:00:00Z', '2030-01-01T00:00:00Z'), row('bb', '2030-02-01T00:00:00Z', '2030-01-15T00:00:00Z')];
  t.equal(activationAt(rows, at('2030-01-10T00:00:00Z')).current?.keyId, 'aa');
  t.equal(activationAt(rows, at('2030-02-01T00:00:00Z')).current?.keyId, 'bb');
  // Back to aa: one more row.
  rows.push(row('aa', '2030-03-01T00:00:00Z', '2030-03-01T00:00:00Z'));
  t.equal(activationAt(rows, at('2030-03-02T00:00:00Z')).current?.keyId, 'aa');
});

t.test('a later row recorded before a pending switch calls it off or re-schedules it', async (t) => {
  const rows = [row('aa', '2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z'), row('bb', '2030-06-01T00:00:00Z', '2030-02-01T00:00:00Z'), row('bb', '2030-07-01T00:00:00Z', '2030-03-01T00:00:00Z')];
  t.equal(activationAt(rows, at('2030-06-15T00:00:00Z')).current?.keyId, 'aa', 'the June switch was re-scheduled');
  t.equal(activationAt(rows, at('2030-06-15T00:00:00Z')).pending?.seq, rows[2]!.seq);
  t.equal(activationAt(rows, at('2030-07-01T00:00:00Z')).current?.seq, rows[2]!.seq);
  // Called off: re-activate aa before bb's time.
  rows.push(row('aa', '2030-04-01T00:00:00Z', '2030-04-01T00:00:00Z'));
  t.equal(activationAt(rows, at('2030-08-01T00:00:00Z')).current?.keyId, 'aa');
  t.notOk(activationAt(rows, at('2030-05-01T00:00:00Z')).pending);
});
