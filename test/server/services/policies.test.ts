import t from 'tap';
import { evaluateIssue, type IssueSnapshot } from '../../../server/services/policies.js';
import { buildUnit } from '../store/build.js';
import { serialOf } from '../../helpers/requests.js';

const key = new Uint8Array(64).fill(7);
function snap(over: Partial<IssueSnapshot> = {}, req: Partial<IssueSnapshot['req']> = {}): IssueSnapshot {
  return {
    req: { serial: serialOf('0123000000000001EE'), publicKey: key, workOrder: 'WO-1', idempotencyKey: 'k1', ...req },
    station: 'station-01',
    workOrder: { id: 'WO-1', product: 'P', quota: 2, issued: 0, stations: null, status: 'open', createdAt: 'x' },
    bySerial: null,
    byKey: null,
    ...over,
  };
}
const wo = (o: Partial<NonNullable<IssueSnapshot['workOrder']>>) => ({ ...snap().workOrder!, ...o });

t.test('a clean request passes', async (t) => {
  t.same(evaluateIssue(snap()), {});
});

t.test('rules apply in order: the first refusal wins', async (t) => {
  t.throws(() => evaluateIssue(snap({ workOrder: null })), { code: 'UNKNOWN_WORK_ORDER' });
  t.throws(() => evaluateIssue(snap({ workOrder: wo({ status: 'closed', stations: ['other'] }) })), { code: 'WORK_ORDER_CLOSED' });
  t.throws(() => evaluateIssue(snap({ workOrder: wo({ stations: ['other'], issued: 2 }) })), { code: 'STATION_NOT_ALLOWED' });
  // The key under another serial is a clone even when this serial also exists.
  const other = buildUnit({ serial: '0123000000000002EE', publicKey: key });
  t.throws(() => evaluateIssue(snap({ byKey: other, bySerial: buildUnit({ serial: '0123000000000001EE' }) })), { code: 'DUPLICATE_KEY' });
  t.throws(() => evaluateIssue(snap({ bySerial: buildUnit({ serial: '0123000000000001EE' }) })), { code: 'SERIAL_EXISTS' });
  t.throws(() => evaluateIssue(snap({ workOrder: wo({ issued: 2 }) })), { code: 'QUOTA_EXCEEDED' });
});

t.test('replay: only the very same request, and it wins over a used-up quota', async (t) => {
  const mine = buildUnit({ serial: '0123000000000001EE', publicKey: key, workOrder: 'WO-1', idempotencyKey: 'k1' });
  t.equal(evaluateIssue(snap({ bySerial: mine, byKey: mine, workOrder: wo({ issued: 2 }) })).replay, mine);
  t.throws(() => evaluateIssue(snap({ bySerial: mine, byKey: mine }, { idempotencyKey: 'k2' })), { code: 'SERIAL_EXISTS' });
  t.throws(() => evaluateIssue(snap({ bySerial: mine, byKey: mine }, { idempotencyKey: null })), { code: 'SERIAL_EXISTS' });
  const noKey = { ...mine, idempotencyKey: null };
  t.throws(() => evaluateIssue(snap({ bySerial: noKey, byKey: noKey }, { idempotencyKey: null })), { code: 'SERIAL_EXISTS' }, 'no idempotency key, no replay');
  t.throws(() => evaluateIssue(snap({ bySerial: mine, byKey: mine, workOrder: wo({ id: 'WO-2' }) }, { workOrder: 'WO-2' })), { code: 'SERIAL_EXISTS' }, 'same key, other work order');
});
