import { webcrypto } from 'node:crypto';
import t, { type Test } from 'tap';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import { createProvisioning } from '../../../server/services/provisioning.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../../server/store/store.js';
import { chipSerial, fakeIssuer, p256Key } from './helpers.js';
import { OFFICER, OPERATOR, STATION, station } from '../../helpers/actors.js';
import { issueReq } from '../../helpers/requests.js';
import { unitIssueRequest, workOrderCreate } from '../../../common/protocol/station-api.js';

const CLOCK = () => new Date('2026-03-01T10:20:30.000Z');

async function setup(t: Test, opts: { quota?: number; stations?: string[]; delayMs?: number; file?: string } = {}) {
  const file = opts.file ?? `${t.testdir()}/k.db`;
  const store = new SqliteStore(file);
  t.teardown(() => store.close());
  const issuer = fakeIssuer(opts.delayMs === undefined ? {} : { delayMs: opts.delayMs });
  const prov = createProvisioning({ store, issuer, clock: CLOCK });
  await prov.createWorkOrder({ id: 'WO-1', product: 'Sensor', quota: opts.quota ?? 10, ...(opts.stations ? { stations: opts.stations } : {}) }, 'admin');
  return { store, issuer, prov, file };
}

const auditActions = (store: Store) =>
  store.transaction(async (tx) => (await tx.audit.list({ afterSeq: 0, limit: 1000 })).map((r) => [r.action, r.subject, r.detail ? JSON.parse(r.detail) : null] as const));

t.test('work orders: create, get, duplicate and bad fields', async (t) => {
  const { prov, store } = await setup(t, { quota: 3 });
  t.match(await prov.getWorkOrder('WO-1', OPERATOR), { id: 'WO-1', quota: 3, issued: 0, remaining: 3, status: 'open', stations: null });
  await t.rejects(prov.createWorkOrder({ id: 'WO-1', product: 'X', quota: 1 }, 'admin'), { code: 'WORK_ORDER_EXISTS' });
  // Fields are the schema's to refuse (the route parses; the service takes the parsed order).
  t.match(workOrderCreate.safeParse({ id: 'WO-2', product: 'X', quota: 0 }).error?.issues[0]?.path, ['quota']);
  t.match(workOrderCreate.safeParse({ id: 'bad id!', product: 'X', quota: 1 }).error?.issues[0]?.path, ['id']);
  await t.rejects(prov.getWorkOrder('WO-9', OPERATOR), { code: 'UNKNOWN_WORK_ORDER' });
  t.match(await auditActions(store), [['work_order.created', 'WO-1', { product: 'Sensor', quota: 3 }]]);
});

t.test('issueUnit: records the unit, counts it, audits it, and only then returns', async (t) => {
  const { prov, store } = await setup(t);
  const k = p256Key();
  const serial = chipSerial();
  const r = await prov.issueUnit(issueReq({ serial: serial.toLowerCase(), publicKey: k.hex, workOrder: 'WO-1' }), 'station-01');
  t.match(r, { serial, replayed: false });
  const unit = await prov.getUnit(serial, OPERATOR);
  t.match(unit, { serial, publicKey: k.hex, status: 'issued', station: 'station-01', workOrder: 'WO-1', fingerprintSha256: r.fingerprintSha256, issuedAt: '2026-03-01T10:20:30.000Z' });
  t.match(unit.certificatePem, /BEGIN CERTIFICATE/);
  t.equal((await prov.getWorkOrder('WO-1', OPERATOR)).issued, 1);
  const audit = await auditActions(store);
  t.same(audit[1], ['unit.issued', serial, { certificateSerial: r.certificateSerial, fingerprint: r.fingerprintSha256, workOrder: 'WO-1' }]);
  // The SPKI form of the same key is the same key: a different serial with it is a clone.
  await t.rejects(prov.issueUnit(issueReq({ serial: chipSerial(), publicKey: k.spki, workOrder: 'WO-1' }), 'station-01'), { code: 'DUPLICATE_KEY' });
});

t.test('each refusal, by code', async (t) => {
  const { prov } = await setup(t, { quota: 2, stations: ['station-01'] });
  const issue = (o: Partial<{ serial: string; publicKey: string; workOrder: string; idempotencyKey: string }> = {}, station = 'station-01') =>
    prov.issueUnit(issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder: 'WO-1', ...o }), station);
  await t.rejects(issue({ workOrder: 'WO-404' }), { code: 'UNKNOWN_WORK_ORDER' });
  await t.rejects(issue({}, 'station-02'), { code: 'STATION_NOT_ALLOWED' });
  // The serial and the key's form are the schema's to refuse (the service takes only parsed requests).
  t.notOk(unitIssueRequest.safeParse({ serial: '0123', publicKey: p256Key().hex, workOrder: 'WO-1' }).success);
  t.notOk(unitIssueRequest.safeParse({ serial: '0123456789ABCDEFGH', publicKey: p256Key().hex, workOrder: 'WO-1' }).success);
  t.notOk(unitIssueRequest.safeParse({ serial: chipSerial(), workOrder: 'WO-1' }).success, 'no key');
  await t.rejects(issue({ publicKey: '00'.repeat(64) }), { code: 'POINT_NOT_ON_CURVE' });
  await issue();
  await issue();
  await t.rejects(issue(), { code: 'QUOTA_EXCEEDED' });
  t.equal((await prov.getWorkOrder('WO-1', OPERATOR)).issued, 2);
  await prov.createWorkOrder({ id: 'WO-2', product: 'P', quota: 5 }, 'admin');
  await prov.closeWorkOrder('WO-2', 'admin');
  await t.rejects(issue({ workOrder: 'WO-2' }), { code: 'WORK_ORDER_CLOSED' });
});

t.test('duplicate key: refused, and the refusal is in the audit log', async (t) => {
  const { prov, store } = await setup(t);
  const k = p256Key();
  const first = chipSerial();
  const clone = chipSerial();
  await prov.issueUnit(issueReq({ serial: first, publicKey: k.hex, workOrder: 'WO-1' }), 'station-01');
  await t.rejects(prov.issueUnit(issueReq({ serial: clone, publicKey: k.hex, workOrder: 'WO-1' }), 'station-02'), { code: 'DUPLICATE_KEY' });
  const audit = await auditActions(store);
  t.match(audit.at(-1), ['unit.duplicate_key', clone, { existingSerial: first, workOrder: 'WO-1', publicKeySha256: /^[0-9a-f]{64}$/ }]);
  await t.rejects(prov.getUnit(clone, OPERATOR), { code: 'UNKNOWN_UNIT' });
  t.equal((await prov.getWorkOrder('WO-1', OPERATOR)).issued, 1);
  t.match(await verifyAuditChain(store), { ok: true, count: 3 });
});

t.test('idempotent retry vs serial conflicts', async (t) => {
  const { prov, store, issuer } = await setup(t, { quota: 1 });
  const k = p256Key();
  const serial = chipSerial();
  const body = { serial, publicKey: k.hex, workOrder: 'WO-1', idempotencyKey: 'job-1' };
  const req = issueReq(body);
  const a = await prov.issueUnit(req, 'station-01');
  const calls = issuer.calls;
  // Quota is now used up, yet the retry succeeds: it uses no quota and signs nothing.
  const b = await prov.issueUnit(req, 'station-01');
  t.equal(b.replayed, true);
  t.same(Buffer.from(b.certificateDer), Buffer.from(a.certificateDer));
  t.equal(issuer.calls, calls, 'no new signature for a replay');
  t.equal((await prov.getWorkOrder('WO-1', OPERATOR)).issued, 1);
  await t.rejects(prov.issueUnit(issueReq({ ...body, idempotencyKey: 'job-2' }), 'station-01'), { code: 'SERIAL_EXISTS' });
  const { idempotencyKey: _, ...noKey } = body;
  await t.rejects(prov.issueUnit(issueReq(noKey), 'station-01'), { code: 'SERIAL_EXISTS' });
  await t.rejects(prov.issueUnit(issueReq({ ...body, publicKey: p256Key().hex }), 'station-01'), { code: 'SERIAL_EXISTS' });
  t.equal((await store.transaction((tx) => tx.units.list())).units.length, 1);
});

t.test('two identical requests at once: one issues, the other replays the same certificate', async (t) => {
  const { prov, issuer } = await setup(t, { delayMs: 5 });
  const req = issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder: 'WO-1', idempotencyKey: 'retry-1' });
  const [a, b] = await Promise.all([prov.issueUnit(req, 'station-01'), prov.issueUnit(req, 'station-01')]);
  t.same([a.replayed, b.replayed].sort(), [false, true]);
  t.same(Buffer.from(a.certificateDer), Buffer.from(b.certificateDer));
  t.equal(issuer.calls, 2, 'both were signed; the loser\'s certificate was discarded, never returned');
  t.equal((await prov.getWorkOrder('WO-1', OPERATOR)).issued, 1);
});

t.test('quota race: concurrent calls, and two store connections on one file, never pass the quota', async (t) => {
  const { prov, file } = await setup(t, { quota: 7, delayMs: 5 });
  // A second connection with its own service stands for a second server process.
  const other = new SqliteStore(file);
  t.teardown(() => other.close());
  const prov2 = createProvisioning({ store: other, issuer: fakeIssuer({ delayMs: 5 }), clock: CLOCK });
  const results = await Promise.allSettled(
    Array.from({ length: 40 }, (_, i) => (i % 2 ? prov : prov2).issueUnit(issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder: 'WO-1' }), 'station-01')),
  );
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  t.equal(ok, 7);
  t.ok(results.every((r) => r.status === 'fulfilled' || (r.reason as { code: string }).code === 'QUOTA_EXCEEDED'));
  t.equal((await prov.getWorkOrder('WO-1', OPERATOR)).issued, 7);
  t.equal((await prov.listUnits({ limit: 100 })).units.length, 7);
  t.match(await verifyAuditChain(other), { ok: true, count: 8 });
});

t.test('batch: per-unit outcomes in one call, good units unaffected by bad ones', async (t) => {
  const { prov, store } = await setup(t, { quota: 100 });
  const shared = p256Key().hex;
  const reqs = Array.from({ length: 100 }, () => ({ serial: chipSerial(), publicKey: p256Key().hex, workOrder: 'WO-1' }));
  reqs[3] = { ...reqs[3]!, publicKey: shared };
  reqs[4] = { ...reqs[4]!, publicKey: shared }; // same key twice in one batch: the second is a clone
  reqs[11] = { ...reqs[11]!, publicKey: 'abcd' };
  reqs[12] = { ...reqs[12]!, workOrder: 'WO-404' };
  reqs[20] = { ...reqs[20]!, serial: reqs[21]!.serial }; // same serial, other key
  const out = await prov.issueBatch(reqs.map(issueReq), 'station-01');
  t.equal(out.length, 100);
  const codes = Object.fromEntries(out.flatMap((o, i) => (o.ok ? [] : [[i, o.error.code]])));
  t.same(codes, { 4: 'DUPLICATE_KEY', 11: 'INVALID_PUBLIC_KEY', 12: 'UNKNOWN_WORK_ORDER', 21: 'SERIAL_EXISTS' });
  t.equal((await prov.getWorkOrder('WO-1', OPERATOR)).issued, 96);
  t.ok(out[3]!.ok && out[3]!.value.serial === reqs[3]!.serial);
  t.match(await verifyAuditChain(store), { ok: true, count: 1 + 96 + 1 });
  // A batch over the remaining quota issues exactly what is left.
  const more = await prov.issueBatch(Array.from({ length: 10 }, () => issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder: 'WO-1' })), 'station-01');
  t.equal(more.filter((o) => o.ok).length, 4);
  t.ok(more.slice(4).every((o) => !o.ok && o.error.code === 'QUOTA_EXCEEDED'));
  await t.rejects(prov.issueBatch(Array.from({ length: 101 }, () => issueReq(reqs[0]!)), 'station-01'), { code: 'VALIDATION_FAILED' });
});

t.test('a failing issuer fails only its unit and records nothing for it', async (t) => {
  const { store } = await setup(t);
  const failing = { async issue() { throw Object.assign(new Error('token removed'), {}); } };
  const prov = createProvisioning({ store, issuer: failing, clock: CLOCK });
  const serial = chipSerial();
  await t.rejects(prov.issueUnit(issueReq({ serial, publicKey: p256Key().hex, workOrder: 'WO-1' }), 's'), { code: 'INTERNAL' });
  await t.rejects(prov.getUnit(serial, OPERATOR), { code: 'UNKNOWN_UNIT' });
  t.equal((await prov.getWorkOrder('WO-1', OPERATOR)).issued, 0);
});

t.test('confirm and quarantine', async (t) => {
  const { prov, store } = await setup(t);
  const serial = chipSerial();
  const r = await prov.issueUnit(issueReq({ serial, publicKey: p256Key().hex, workOrder: 'WO-1' }), 'station-01');
  await t.rejects(prov.confirmUnit(serial, { fingerprintSha256: 'ab'.repeat(32) }, STATION), { code: 'VALIDATION_FAILED' });
  await t.rejects(prov.confirmUnit(chipSerial(), { fingerprintSha256: r.fingerprintSha256 }, STATION), { code: 'UNKNOWN_UNIT' });
  t.match(await prov.confirmUnit(serial, { fingerprintSha256: r.fingerprintSha256 }, STATION), { status: 'confirmed', confirmedAt: '2026-03-01T10:20:30.000Z' });
  t.match(await prov.confirmUnit(serial, { fingerprintSha256: r.fingerprintSha256 }, STATION), { status: 'confirmed' }, 'idempotent');
  // Issue 11: a confirmed unit may be in the field; only the security officer takes it out of service.
  await t.rejects(prov.quarantineUnit(serial, 'read-back mismatch', STATION), { code: 'FORBIDDEN' });
  t.match(await prov.quarantineUnit(serial, 'reported lost', OFFICER), { status: 'quarantined', statusReason: 'reported lost' });
  await t.rejects(prov.confirmUnit(serial, { fingerprintSha256: r.fingerprintSha256 }, STATION), { code: 'VALIDATION_FAILED' });
  t.match((await prov.listUnits({ status: 'quarantined' })).units, [{ serial }]);
  // Reversible by the officer alone: back to confirmed, since it had been.
  await t.rejects(prov.releaseUnit(serial, 'found', STATION), { code: 'FORBIDDEN' });
  t.match(await prov.releaseUnit(serial, 'found in the warehouse', OFFICER), { status: 'confirmed', confirmedAt: '2026-03-01T10:20:30.000Z', statusReason: 'found in the warehouse' });
  await t.rejects(prov.releaseUnit(serial, 'again', OFFICER), { code: 'VALIDATION_FAILED' }, 'only a quarantined unit is released');
  const audit = await auditActions(store);
  t.same(audit.map((a) => a[0]), ['work_order.created', 'unit.issued', 'unit.confirmed', 'unit.quarantined', 'unit.released'], 'a repeated confirm adds no record');
  t.match(audit[3], ['unit.quarantined', serial, { from: 'confirmed', reason: 'reported lost', role: 'security-officer' }]);
  t.match(audit[4], ['unit.released', serial, { from: 'quarantined', to: 'confirmed', quarantineReason: 'reported lost' }]);
  t.ok((await verifyAuditChain(store)).ok);
});

t.test('issue 11: a station acts only on the units of work orders it is allowed on', async (t) => {
  const { prov } = await setup(t, { stations: ['station-01'] });
  const serial = chipSerial();
  const r = await prov.issueUnit(issueReq({ serial, publicKey: p256Key().hex, workOrder: 'WO-1' }), 'station-01');
  const other = station('station-02');
  await t.rejects(prov.confirmUnit(serial, { fingerprintSha256: r.fingerprintSha256 }, other), { code: 'STATION_NOT_ALLOWED' });
  await t.rejects(prov.quarantineUnit(serial, 'sabotage', other), { code: 'STATION_NOT_ALLOWED' });
  await t.rejects(prov.getUnit(serial, other), { code: 'STATION_NOT_ALLOWED' });
  await t.rejects(prov.getWorkOrder('WO-1', other), { code: 'STATION_NOT_ALLOWED' });
  t.match(await prov.getUnit(serial, OPERATOR), { status: 'issued' }, 'nothing changed');
  // A station allowed on the order may quarantine an unconfirmed unit another station issued.
  await prov.updateWorkOrder('WO-1', { stations: ['station-01', 'station-02'] }, 'operator-01');
  t.match(await prov.quarantineUnit(serial, 'failed read-back', other), { status: 'quarantined' });
  t.match(await prov.releaseUnit(serial, 'retested', OFFICER), { status: 'issued' }, 'never confirmed: back to issued');
});

t.test('work orders: update, list, close', async (t) => {
  const { prov, store } = await setup(t, { quota: 3 });
  await prov.issueBatch(Array.from({ length: 2 }, () => issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder: 'WO-1' })), 'station-01');
  await t.rejects(prov.updateWorkOrder('WO-1', { quota: 1 }, 'operator-01'), { code: 'QUOTA_BELOW_ISSUED' });
  t.match(await prov.updateWorkOrder('WO-1', { quota: 2, stations: ['station-07'] }, 'operator-01'), { quota: 2, issued: 2, remaining: 0, stations: ['station-07'] });
  await t.rejects(prov.updateWorkOrder('WO-9', { quota: 5 }, 'operator-01'), { code: 'UNKNOWN_WORK_ORDER' });
  await prov.createWorkOrder({ id: 'WO-2', product: 'P', quota: 1 }, 'operator-01');
  t.same((await prov.listWorkOrders()).map((w) => w.id).sort(), ['WO-1', 'WO-2']);
  t.match(await prov.closeWorkOrder('WO-2', 'operator-01'), { status: 'closed' });
  const audit = await auditActions(store);
  t.match(audit.find((a) => a[0] === 'work_order.updated'), ['work_order.updated', 'WO-1', { from: { quota: 3, stations: null }, to: { quota: 2, stations: ['station-07'] } }]);
});

t.test('issue 11: replaying an idempotent request for a revoked unit says it is revoked', async (t) => {
  const { prov, store } = await setup(t);
  const req = issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder: 'WO-1', idempotencyKey: 'k-1' });
  await prov.issueUnit(req, 'station-01');
  t.match(await prov.issueUnit(req, 'station-01'), { replayed: true });
  await store.transaction((tx) => tx.units.setStatus(req.serial, 'revoked', { at: '2026-03-02T00:00:00.000Z', reason: 'keyCompromise' }));
  await t.rejects(prov.issueUnit(req, 'station-01'), { code: 'UNIT_REVOKED' });
});

t.test('listUnits pages through every unit', async (t) => {
  const { prov } = await setup(t, { quota: 30 });
  await prov.issueBatch(Array.from({ length: 23 }, () => issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder: 'WO-1' })), 's');
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await prov.listUnits({ workOrder: 'WO-1', limit: 10, ...(cursor ? { cursor } : {}) });
    page.units.forEach((u) => seen.add(u.serial));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  t.equal(seen.size, 23);
  await t.rejects(prov.listUnits({ status: 'lost' as never }), { code: 'VALIDATION_FAILED' });
});

t.test('issue from a CSR', async (t) => {
  const x509 = await import('../../../common/x509.js');
  const { prov } = await setup(t);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: alg });
  const serial = chipSerial();
  await prov.issueUnit(issueReq({ serial, csr: csr.toString('pem'), workOrder: 'WO-1' }), 's');
  const raw = Buffer.from(await webcrypto.subtle.exportKey('raw', keys.publicKey)).subarray(1).toString('hex');
  t.equal((await prov.getUnit(serial, OPERATOR)).publicKey, raw);
});

t.test('registerStation: first call recorded and audited, repeats free, a new certificate audited', async (t) => {
  const { prov, store } = await setup(t);
  await prov.registerStation('station-07', 'aa'.repeat(32));
  await prov.registerStation('station-07', 'aa'.repeat(32));
  t.match(await store.transaction((tx) => tx.stations.get('station-07')), { role: 'station', fingerprint: 'aa'.repeat(32) });
  await prov.registerStation('station-07', 'bb'.repeat(32));
  const actions = (await auditActions(store)).map((a) => a[0]);
  t.same(actions, ['work_order.created', 'station.registered', 'station.updated']);
});
