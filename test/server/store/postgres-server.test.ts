/**
 * The real server on PostgreSQL: two replicas (two in-process servers, one dev PKI and token,
 * one database) issuing through the real station API at once. The quota, idempotent retries
 * that land on the other replica, clone refusal and the audit chain hold across both.
 */
import t from 'tap';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import { PgStore } from '../../../server/store/postgres/pg-store.js';
import { chipSerialHex, deviceKey } from '../../helpers/device-keys.js';
import { makeDevPki } from '../../helpers/pki.js';
import { freshPgDatabase, pgSkipReason } from '../../helpers/postgres.js';
import { clientFor, operatorFor, startTestServer } from '../../helpers/server.js';

const skip = pgSkipReason();

t.test('two server replicas on one PostgreSQL database', { skip }, async (t) => {
  const pki = await makeDevPki(t);
  const url = await freshPgDatabase();
  const [a, b] = await Promise.all([startTestServer(t, pki, { KEYLINE_STORE_URL: url }), startTestServer(t, pki, { KEYLINE_STORE_URL: url })]);
  const apiA = clientFor(t, pki, a.apiUrl);
  const apiB = clientFor(t, pki, b.apiUrl);
  const apis = [apiA, apiB];
  const code = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok');

  await operatorFor(t, pki, a.apiUrl).createWorkOrder({ id: 'WO-Q', product: 'Sensor', quota: 30 });
  await operatorFor(t, pki, b.apiUrl).createWorkOrder({ id: 'WO-R', product: 'Sensor', quota: 10 });

  t.test('quota: 45 units at once through both replicas: exactly 30 issued, the rest QUOTA_EXCEEDED', async (t) => {
    const r = await Promise.allSettled(Array.from({ length: 45 }, (_, i) =>
      apis[i % 2]!.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-Q' })));
    const codes = r.map(code);
    t.equal(codes.filter((c) => c === 'ok').length, 30);
    t.equal(codes.filter((c) => c === 'QUOTA_EXCEEDED').length, 15, `no other refusal: ${[...new Set(codes)].join(',')}`);
    t.equal((await apiB.getWorkOrder('WO-Q')).issued, 30);
  });

  t.test('a retry that lands on the other replica gets the same certificate (idempotent)', async (t) => {
    const pairs = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const req = { serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-R', idempotencyKey: `idem-${i}` };
      return Promise.allSettled([apiA.issueUnit(req), apiB.issueUnit(req)]);
    }));
    for (const [x, y] of pairs) {
      t.same([code(x!), code(y!)], ['ok', 'ok']);
      if (x!.status === 'fulfilled' && y!.status === 'fulfilled') t.equal(x.value.fingerprintSha256, y.value.fingerprintSha256, 'one certificate');
    }
    t.equal((await apiA.getWorkOrder('WO-R')).issued, 8, 'each unit counted once');
  });

  t.test('one key under two serials on two replicas: one certificate, one DUPLICATE_KEY', async (t) => {
    await operatorFor(t, pki, a.apiUrl).createWorkOrder({ id: 'WO-K', product: 'Sensor', quota: 100 });
    for (let i = 0; i < 4; i++) {
      const key = deviceKey().rawHex;
      const r = await Promise.allSettled(apis.map((api) => api.issueUnit({ serial: chipSerialHex(), publicKey: key, workOrder: 'WO-K' })));
      t.same(r.map(code).sort(), ['DUPLICATE_KEY', 'ok']);
    }
  });

  t.test('confirmations through both replicas, then the audit chain verifies', async (t) => {
    const issued = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      apis[i % 2]!.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-K' })));
    const confirmed = await Promise.all(issued.map((u, i) => apis[(i + 1) % 2]!.confirmUnit(u.serial, u.fingerprintSha256)));
    t.same(confirmed.map((u) => u.status), Array(10).fill('confirmed'));
    const store = await PgStore.open(url, { pool: 1, mustExist: true });
    t.teardown(() => store.close());
    const verdict = await verifyAuditChain(store);
    t.match(verdict, { ok: true });
    t.ok(verdict.count > 60, `chain holds every issue, refusal and confirmation (${verdict.count})`);
  });
});
