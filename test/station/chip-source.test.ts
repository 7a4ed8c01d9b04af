/**
 * Which chips the line takes, the endpoint flag, the CSV report, and the server gate's pause,
 * backoff and resume.
 */
import t from 'tap';
import { KeylineError } from '../../common/errors.js';
import { ApiError } from '../../station/api-client.js';
import { chipDecision, parseEndpoints } from '../../station/chip-source.js';
import { Journal, type UnitRecord } from '../../station/journal.js';
import { csvField, journalCsv } from '../../station/report.js';
import { isUnreachable, ServerGate } from '../../station/server-gate.js';

const rec = (over: Partial<UnitRecord>): UnitRecord => ({
  serial: '0123000000000001EE', workOrder: 'WO-1', station: 's', step: 'keyed', status: 'in-progress', idempotencyKey: null, publicKey: null,
  certificateDer: null, chainPem: null, fingerprintSha256: null, certificateSerial: null, reason: null, possibleClone: false,
  createdAt: '', updatedAt: '', confirmedAt: null, ...over,
});

t.test('chip decisions', async (t) => {
  t.same(chipDecision({ blank: true }, undefined, 'WO-1'), { take: 'new' });
  t.match(chipDecision({ blank: false }, undefined, 'WO-1'), { skip: /not blank/ });
  t.same(chipDecision({ blank: false }, rec({}), 'WO-1'), { take: 'resume' });
  t.same(chipDecision({ blank: false }, rec({ status: 'pending' }), 'WO-1'), { take: 'resume' });
  t.match(chipDecision({ blank: false }, rec({ status: 'good' }), 'WO-1'), { skip: /already/ });
  t.match(chipDecision({ blank: false }, rec({ status: 'quarantined', reason: 'x' }), 'WO-1'), { skip: /quarantined: x/ });
  t.match(chipDecision({ blank: false }, rec({}), 'WO-2'), { skip: /work order WO-1/ });
});

t.test('--emulator endpoints', async (t) => {
  t.same(parseEndpoints('127.0.0.1:7777'), [{ host: '127.0.0.1', port: 7777 }]);
  t.same(parseEndpoints('a:1,[::1]:2'), [{ host: 'a', port: 1 }, { host: '::1', port: 2 }]);
  t.throws(() => parseEndpoints('nohost'), { code: 'VALIDATION_FAILED', message: /'nohost'/ });
  t.throws(() => parseEndpoints('h:70000'), { code: 'VALIDATION_FAILED' });
  // A rack of SE050 cards, one port each (issue 15).
  t.same(parseEndpoints('h:8050-8052,k:9'), [{ host: 'h', port: 8050 }, { host: 'h', port: 8051 }, { host: 'h', port: 8052 }, { host: 'k', port: 9 }]);
  t.throws(() => parseEndpoints('h:9-8'), { code: 'VALIDATION_FAILED', message: /'h:9-8'/ });
});

t.test('report CSV', async (t) => {
  t.equal(csvField('a,b'), '"a,b"');
  t.equal(csvField('say "x"'), '"say ""x"""');
  t.equal(csvField(null), '');
  const j = new Journal(':memory:');
  t.teardown(() => j.close());
  j.begin('0123000000000001EE', 'WO-1', 's');
  j.quarantine('0123000000000001EE', 'ATCA_X: bad, "really"', { possibleClone: true });
  j.begin('0123000000000002EE', 'WO-2', 's');
  const { csv, count } = journalCsv(j, 'WO-1');
  t.equal(count, 1);
  const [head, row] = csv.split('\r\n');
  t.match(head, /^serial,work_order,station,status,step,reason,possible_clone,/);
  t.match(row, /^0123000000000001EE,WO-1,s,quarantined,started,"ATCA_X: bad, ""really""",1,/);
});

t.test('server gate: waits out unreachability with backoff, passes refusals through', async (t) => {
  const pauses: number[] = [];
  let resumed = 0;
  const gate = new ServerGate({ initialDelayMs: 5, maxDelayMs: 20, onPause: (_m, d) => pauses.push(d), onResume: () => resumed++ });
  let calls = 0;
  const v = await gate.call(async () => {
    if (++calls <= 4) throw new KeylineError('SERVER_UNREACHABLE', 'down');
    return 42;
  });
  t.equal(v, 42);
  t.same(pauses, [5, 10, 20, 20], 'doubling, capped');
  t.equal(resumed, 1);
  await t.rejects(gate.call(async () => { throw new ApiError('QUOTA_EXCEEDED', 'no', 403); }), { code: 'QUOTA_EXCEEDED' });
  t.ok(isUnreachable(new ApiError('HSM_ERROR', 'busy', 503)));
  t.notOk(isUnreachable(new ApiError('INTERNAL', 'x', 500)));
  const aborting = new ServerGate({ initialDelayMs: 5, aborted: () => true });
  await t.rejects(aborting.call(async () => { throw new KeylineError('SERVER_UNREACHABLE', 'down'); }), { code: 'SERVER_UNREACHABLE' });
});
