/**
 * The journal: steps in order with their facts, quarantine and pending states, events per step,
 * and durability across a reopen (what a rerun after kill -9 sees).
 */
import { join } from 'node:path';
import t from 'tap';
import { Journal } from '../../station/journal.js';

const SERIAL = '0123AABBCCDDEEFFEE';

t.test('a unit goes through its steps; each is kept with its facts and an event', async (t) => {
  const file = join(t.testdir(), 'j.db');
  const j = new Journal(file);
  const rec = j.begin(SERIAL, 'WO-1', 'station-01');
  t.match(rec, { serial: SERIAL, step: 'started', status: 'in-progress', publicKey: null, idempotencyKey: null });
  t.same(j.begin(SERIAL, 'WO-1', 'station-01'), rec, 'begin on a known unit resumes it');
  j.advance(SERIAL, 'configured');
  j.advance(SERIAL, 'keyed', { publicKey: 'ab'.repeat(64), idempotencyKey: 'idem-1' });
  j.advance(SERIAL, 'issued', { issued: { certificateDer: Uint8Array.of(0x30, 0x00), chainPem: 'PEM', fingerprintSha256: 'f'.repeat(64), certificateSerial: '01' } });
  j.close();
  // Reopened, as a rerun would: everything committed is there.
  const again = new Journal(file);
  t.teardown(() => again.close());
  t.match(again.get(SERIAL), { step: 'issued', publicKey: 'ab'.repeat(64), idempotencyKey: 'idem-1', chainPem: 'PEM', fingerprintSha256: 'f'.repeat(64), certificateSerial: '01' });
  t.same(again.get(SERIAL)!.certificateDer, Uint8Array.of(0x30, 0x00));
  again.advance(SERIAL, 'confirmed');
  t.match(again.get(SERIAL), { status: 'good', step: 'confirmed' });
  t.ok(again.get(SERIAL)!.confirmedAt);
  t.equal(again.countGood('WO-1'), 1);
  t.equal(again.countGood('WO-2'), 0);
  t.same(again.events(SERIAL).map((e) => e.step), ['started', 'configured', 'keyed', 'issued', 'confirmed']);
});

t.test('quarantine and pending keep the step and record the reason', async (t) => {
  const j = new Journal(join(t.testdir(), 'j.db'));
  t.teardown(() => j.close());
  j.begin('0123000000000001EE', 'WO-1', 's');
  j.advance('0123000000000001EE', 'keyed', { publicKey: '00', idempotencyKey: 'k' });
  j.quarantine('0123000000000001EE', 'DUPLICATE_KEY: seen', { possibleClone: true });
  t.match(j.get('0123000000000001EE'), { status: 'quarantined', step: 'keyed', reason: 'DUPLICATE_KEY: seen', possibleClone: true });
  j.begin('0123000000000002EE', 'WO-1', 's');
  j.pend('0123000000000002EE', 'QUOTA_EXCEEDED');
  t.match(j.get('0123000000000002EE'), { status: 'pending', step: 'started', reason: 'QUOTA_EXCEEDED' });
  // A pending unit that moves on is in progress again, its reason cleared.
  j.advance('0123000000000002EE', 'configured');
  t.match(j.get('0123000000000002EE'), { status: 'in-progress', reason: null });
  t.equal(j.list().length, 2);
});

t.test('an unknown serial cannot be advanced', async (t) => {
  const j = new Journal(':memory:');
  t.teardown(() => j.close());
  t.throws(() => j.advance('0123000000000009EE', 'configured'), { code: 'STORE_ERROR' });
});
