/**
 * Issue 11, from outside: the route table decides who may call what before any handler runs,
 * whatever the spelling of the path; a station acts only on its own work orders' units; a
 * confirmed unit leaves service only through the security officer; and the smaller holes (media
 * type, duplicate JSON keys, unknown work order, replay of a revoked unit). Real server, real
 * mTLS, SoftHSM, SQLite; every request is sent with its path verbatim (no URL normalisation).
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { ROUTES, type Access, type RouteKey } from '../../server/api/route-table.js';
import { ROLES, type Role } from '../../common/roles.js';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, issueStationIdentity, officerFor, operatorFor, startTestServer } from '../helpers/server.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';
import { configureEst } from '../helpers/est.js';

const pki = await makeDevPki(t);
// EST's routes are in the table too (issue 17): served, so the per-route check reaches them.
configureEst(pki, { defaultLabel: 'line1', labels: { line1: { workOrder: 'WO-1' } } });
const server = await startTestServer(t, pki);
const port = Number(new URL(server.apiUrl).port);
const ca = readFileSync(pki.rootCertPath, 'utf8');
const pem = (f: string) => readFileSync(f, 'utf8');
const station2 = await issueStationIdentity(pki, { id: 'station-02' });
const IDENTITIES: Record<Role | 'none', { cert?: string; key?: string }> = {
  none: {},
  station: { cert: pem(pki.stationCertPath), key: pem(pki.stationKeyPath) },
  operator: { cert: pem(pki.operatorCertPath), key: pem(pki.operatorKeyPath) },
  'security-officer': { cert: pem(pki.officerCertPath), key: pem(pki.officerKeyPath) },
  auditor: { cert: pem(pki.auditorCertPath), key: pem(pki.auditorKeyPath) },
};

/** One request with the path sent exactly as given, as `who`. */
function send(who: Role | 'none' | { cert: string; key: string }, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; code?: string; json: unknown; challenge?: string }> {
  const id = typeof who === 'string' ? IDENTITIES[who] : who;
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, method, path, ca, ...id, agent: false,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = text;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        // EST refusals are text/plain, 'CODE: reason' (server/est/est-response.ts).
        const code = (json as { error?: { code?: string } })?.error?.code ?? /^([A-Z_]+): /.exec(text)?.[1];
        const challenge = res.headers['www-authenticate'];
        resolve({ status: res.statusCode ?? 0, code, json, ...(challenge ? { challenge } : {}) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const operator = operatorFor(t, pki, server.apiUrl);
const officer = officerFor(t, pki, server.apiUrl);
const station = clientFor(t, pki, server.apiUrl);
const other = clientFor(t, pki, server.apiUrl, station2);
await operator.createWorkOrder({ id: 'WO-1', product: 'Sensor', quota: 50, stations: ['station-01'] });
const issued = await station.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-1' });

t.test('hole 1: no spelling of a path reaches a route without a certificate', async (t) => {
  const reads = ['/V1/units?limit=1000', '/v1/units?limit=1000', '/v1/units/', '//v1/units', '/v1//units', '/v1/%75nits', '/v1%2Funits', '/v1%2funits',
    '/./v1/units', '/v1/./units', '/v1/ca/../units', '/v1/ca/%2E%2E/units', '/V1/UNITS', '/v1/units;x=1', '/v1/units%00', '/v1/units#x',
    `/v1/units/${issued.serial}`, `/V1/units/${issued.serial}`, `/v1/units/${issued.serial.toLowerCase()}`, '/v1/work-orders/WO-1', '/v1/audit', '/v1/reconcile', '/metrics', '/METRICS', '/nothing'];
  for (const path of reads) {
    const r = await send('none', 'GET', path);
    t.equal(r.status, 401, `GET ${path} → 401`);
    t.equal(r.code, 'UNAUTHENTICATED', `GET ${path}: UNAUTHENTICATED`);
    t.notMatch(JSON.stringify(r.json), issued.serial, `GET ${path} leaks no unit`);
  }
  for (const path of ['/V1/work-orders', '/v1/work-orders/', '/v1//work-orders', '/v1/Work-Orders', '/V1/units', '/v1/units:BATCH', '/V1/revocations', '/v1/revocations/']) {
    const r = await send('none', 'POST', path, JSON.stringify({ id: 'WO-EVIL', product: 'X', quota: 100000000 }));
    t.equal(r.status, 401, `POST ${path} → 401 (not 500)`);
  }
  // With an identity, other spellings are simply not routes.
  for (const path of ['/V1/units?limit=1000', '/v1/units/', '//v1/units', '/v1%2Funits', '/v1/ca/../units']) {
    t.equal((await send('operator', 'GET', path)).status, 404, `GET ${path} as operator → 404`);
  }
  t.equal((await send('operator', 'DELETE', '/v1/units')).status, 405, 'a known path, another method → 405');
  t.equal((await operator.getWorkOrder('WO-1')).issued, 1, 'nothing was created');
  t.equal((await send('operator', 'GET', '/v1/work-orders/WO-EVIL')).status, 404);
});

t.test('the route table: every route refuses every role it does not list, before its handler', async (t) => {
  // A work order and unit of their own: the admitted calls (close, release, ...) may act on them.
  await operator.createWorkOrder({ id: 'WO-M', product: 'Sensor', quota: 5 });
  const unit = await station.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-M' });
  const concrete = (path: string) => path.replace(':id', 'WO-M').replace(':serial', unit.serial).replace(':label', 'line1');
  for (const key of Object.keys(ROUTES) as RouteKey[]) {
    const [method, path] = key.split(' ') as [string, string];
    const access: Access = ROUTES[key];
    const body = method === 'GET' ? undefined : '{}';
    const anon = await send('none', method, concrete(path), body);
    t.equal(anon.status, access === 'public' ? 200 : 401, `${key} without a certificate`);
    if (access === 'public') continue;
    if (access === 'est') {
      // EST (issue 17): no identity is challenged for Basic credentials; a role that never issues is
      // refused before the handler; a station is authenticated (what it may do is the operation's rule).
      t.match(anon.challenge, /^Basic realm="/, `${key}: 401 with a Basic challenge`);
      for (const role of ROLES) {
        const r = await send(role, method, concrete(path), body);
        if (role === 'station') t.not(r.status, 401, `${key} as station: authenticated (${r.status} ${r.code ?? ''})`);
        else t.same([r.status, r.code], [403, 'FORBIDDEN'], `${key} as ${role}: refused`);
      }
      continue;
    }
    for (const role of ROLES) {
      const r = await send(role, method, concrete(path), body);
      if (access.includes(role)) t.not(r.code, 'FORBIDDEN', `${key} as ${role}: admitted (${r.status} ${r.code ?? ''})`);
      else t.same([r.status, r.code], [403, 'FORBIDDEN'], `${key} as ${role}: refused`);
    }
  }
  // The refused calls changed nothing (the admitted close did: its body needs no field).
  t.match(await operator.getWorkOrder('WO-M'), { quota: 5, issued: 1, stations: null, status: 'closed' });
  t.match(await operator.getUnit(unit.serial), { status: 'issued' });
});

t.test('only the operator makes work orders; the officer and the operator never issue', async (t) => {
  t.same([(await send('station', 'POST', '/v1/work-orders', JSON.stringify({ id: 'WO-SELF', product: 'X', quota: 100000000 }))).code], ['FORBIDDEN']);
  const body = JSON.stringify({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-1' });
  for (const who of ['security-officer', 'operator', 'auditor'] as const) t.equal((await send(who, 'POST', '/v1/units', body)).code, 'FORBIDDEN', who);
  t.equal((await operator.getWorkOrder('WO-1')).issued, 1);
});

t.test('hole 5: a station not on the work order cannot confirm or quarantine its units', async (t: Test) => {
  const refusal = (p: Promise<unknown>) => p.then(() => null, (e: { status: number; code: string }) => [e.status, e.code]);
  t.same(await refusal(other.confirmUnit(issued.serial, issued.fingerprintSha256)), [403, 'STATION_NOT_ALLOWED']);
  t.same(await refusal(other.quarantineUnit(issued.serial, 'sabotage')), [403, 'STATION_NOT_ALLOWED']);
  t.same(await refusal(other.getUnit(issued.serial)), [403, 'STATION_NOT_ALLOWED']);
  t.same(await refusal(other.getWorkOrder('WO-1')), [403, 'STATION_NOT_ALLOWED']);
  t.match(await station.confirmUnit(issued.serial, issued.fingerprintSha256), { status: 'confirmed', complete: true });
  // Confirmed: in the field it may be; the allowed station cannot take it out of service either.
  t.same(await refusal(station.quarantineUnit(issued.serial, 'oops')), [403, 'FORBIDDEN']);
  t.same(await refusal(other.quarantineUnit(issued.serial, 'oops')), [403, 'STATION_NOT_ALLOWED']);
  t.match(await operator.getUnit(issued.serial), { status: 'confirmed' }, 'still confirmed: it can enroll');
  // The officer may, audited, and may put it back.
  t.match(await officer.quarantineUnit(issued.serial, 'reported stolen'), { status: 'quarantined' });
  t.same(await refusal(station.releaseUnit(issued.serial, 'mine')), [403, 'FORBIDDEN']);
  t.match(await officer.releaseUnit(issued.serial, 'recovered'), { status: 'confirmed' });
  const audit = (await send('auditor', 'GET', '/v1/audit?limit=1000')).json as { records: Array<{ action: string; actor: string; subject: string }> };
  t.match(audit.records.filter((r) => r.subject === issued.serial).map((r) => [r.action, r.actor]),
    [['unit.issued', 'station-01'], ['unit.confirmed', 'station-01'], ['unit.quarantined', 'officer-01'], ['unit.released', 'officer-01']]);
});

t.test('smaller holes: media type, duplicate keys, unknown work order, SPKI trailing bytes, replay of a revoked unit', async (t) => {
  const wo = JSON.stringify({ id: 'WO-2', product: 'X', quota: 1 });
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/jsonp', '']) {
    const r = await send('operator', 'POST', '/v1/work-orders', wo, { 'content-type': type });
    t.same([r.status, r.code], [415, 'UNSUPPORTED_MEDIA_TYPE'], `content-type '${type}'`);
  }
  t.equal((await send('operator', 'POST', '/v1/work-orders', wo, { 'content-type': 'application/json; charset=UTF-8' })).status, 201);
  const dup = await send('operator', 'POST', '/v1/work-orders', '{"id":"WO-3","product":"X","quota":1,"quota":100000000}');
  t.same([dup.status, dup.code], [400, 'DUPLICATE_JSON_KEY']);
  t.equal((await send('operator', 'GET', '/v1/work-orders/WO-3')).status, 404, 'nothing was created');
  t.same([(await send('operator', 'GET', '/v1/work-orders/NOPE')).code], ['UNKNOWN_WORK_ORDER']);
  t.equal((await send('operator', 'GET', '/v1/work-orders/NOPE')).status, 404);
  const onUnknown = await send('station', 'POST', '/v1/units', JSON.stringify({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'NOPE' }));
  t.same([onUnknown.status, onUnknown.code], [404, 'UNKNOWN_WORK_ORDER']);
  const spki = Buffer.concat([Buffer.from(deviceKey().spkiB64, 'base64'), Buffer.from([0])]).toString('base64');
  const trailing = await send('station', 'POST', '/v1/units', JSON.stringify({ serial: chipSerialHex(), publicKey: spki, workOrder: 'WO-1' }));
  t.same([trailing.status, trailing.code], [400, 'MALFORMED_DER']);

  const req = { serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-1', idempotencyKey: 'k-revoked' };
  await station.issueUnit(req);
  t.equal((await send('security-officer', 'POST', '/v1/revocations', JSON.stringify({ serial: req.serial, reason: 'keyCompromise' }))).status, 200);
  const replay = await send('station', 'POST', '/v1/units', JSON.stringify(req));
  t.same([replay.status, replay.code], [409, 'UNIT_REVOKED']);
});

t.test('readers: the auditor reads units, the audit chain and the reconciliation, and the chain verifies', async (t) => {
  t.equal((await send('auditor', 'GET', '/v1/units?limit=10')).status, 200);
  t.match((await send('auditor', 'GET', '/v1/reconcile')).json, { unregistered: [], parked: [] });
  t.match((await send('auditor', 'GET', '/v1/audit/verify')).json, { ok: true });
  t.equal((await send('auditor', 'POST', '/v1/work-orders/WO-1/close', '{}')).code, 'FORBIDDEN');
  t.match(await operator.closeWorkOrder('WO-1'), { status: 'closed' });
  t.match(await operator.updateWorkOrder('WO-2', { quota: 5 }), { quota: 5 });
});
