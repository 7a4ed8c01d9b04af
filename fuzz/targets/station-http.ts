/**
 * Target `station-http`: the station API end to end, through server/api/app.ts `createApp` on the
 * HTTPS listener (https-listener.ts) over loopback, with a client certificate per role and one
 * caller without any. Requests: every route of the table with hostile bodies (as `station-api`),
 * parameters and queries, content types, oversized bodies; the same paths spelled otherwise
 * (case, trailing slash, //, %2F, dot segments, escapes) and paths no route has. Every answer is
 * JSON; a refusal carries `{ error: { code } }` with the status ERROR_TABLE gives the code; no 5xx
 * (REGISTRATION_PENDING aside); without a certificate only the public routes answer anything but
 * 401; a role the table does not list gets 403 before any handler; a refusal writes nothing; and
 * after the run the store invariants of `station-api` hold for what was answered over HTTP.
 */
import { Agent, request as httpsRequest } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ERROR_TABLE, type ErrorCode } from '../../common/errors.js';
import { silentLogger } from '../../common/log.js';
import { toPem } from '../../common/pem.js';
import { errorBody, unitBatchResponse, workOrderView } from '../../common/protocol/station-api.js';
import { createApp } from '../../server/api/app.js';
import { listenHttps } from '../../server/api/https-listener.js';
import { Metrics } from '../../server/api/metrics.js';
import { isConsoleRoute, ROUTES, type RouteKey } from '../../server/api/route-table.js';
import { verifyAuditChain } from '../../server/audit/audit-log.js';
import { createClientCert, createServerTlsCert } from '../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../server/ca/software-key.js';
import { createReconcile } from '../../server/services/reconcile.js';
import { provisioningBed } from '../bed.js';
import { csrSamples } from '../csr-samples.js';
import { clip, describe, ensure, FuzzFinding, type FuzzTarget } from '../harness.js';
import { hostileJsonFrom, hostileValue } from '../json-text.js';
import { ACTORS, checkStore, FP, isExposedRefusal, judgeIssued, MUTABLE_ORDER, presetStation, unitSerial, validBodies, woId, writeMarks, type BodyOp } from '../station-model.js';

/** Routes whose services this bed does not build. */
const UNBUILT = new Set<RouteKey>(['POST /v1/revocations', 'GET /v1/line', 'POST /v1/line/pauses', 'GET /v1/units/:serial/story', 'GET /v1/outbox', 'POST /v1/outbox/:id/retry', 'POST /v1/outbox/:id/park']);

/** Who calls: an ACTORS index, or ANON (no client certificate). */
const ANON = ACTORS.length;

interface Input {
  who: number;
  method: string;
  /** The path as sent (already respelled when `spelling` is not 0). */
  path: string;
  /** The table route the unspelled path is an instance of, if any. */
  route: RouteKey | null;
  spelled: boolean;
  contentType: string;
  body: string | null;
}

const BODY_OP: Partial<Record<RouteKey, BodyOp>> = {
  'POST /v1/work-orders': 'createWorkOrder', 'PATCH /v1/work-orders/:id': 'updateWorkOrder', 'POST /v1/work-orders/:id/close': 'closeWorkOrder',
  'POST /v1/units': 'issueUnit', 'POST /v1/units:batch': 'issueBatch', 'POST /v1/units/:serial/confirm': 'confirmUnit',
  'POST /v1/units/:serial/quarantine': 'quarantineUnit', 'POST /v1/units/:serial/release': 'releaseUnit',
};

/** Other spellings of a path: each must be refused as what it is (no route), never served. */
const RESPELL: Array<(p: string) => string> = [
  (p) => p.replace('/v1/', '/V1/'),
  (p) => `${p}/`,
  (p) => p.replace('/v1/', '/v1//'),
  // (A request-target must start with '/': node:http drops one that does not, before any handler.)
  (p) => p.replace(/(.)\/([^/]*)$/, '$1%2F$2'),
  (p) => p.replace('/v1/', '/v1/./'),
  (p) => p.replace('/v1/', '/x/../v1/'),
  (p) => p.replace('/v1/u', '/v1/%75'),
  (p) => p.toUpperCase(),
];

function arbitrary(bodies: ReturnType<typeof validBodies>): fc.Arbitrary<Input> {
  // EST routes speak base64 DER, not JSON, and have their own target (est.ts). The console's
  // routes answer HTML and need its services; test/console drives them in Chromium.
  const keys = (Object.keys(ROUTES) as RouteKey[]).filter((k) => !k.includes(' /.well-known/est/') && !isConsoleRoute(k));
  const param = (name: string) => (name === 'id' ? fc.oneof({ weight: 4, arbitrary: MUTABLE_ORDER }, { weight: 1, arbitrary: woId }) : fc.oneof({ weight: 8, arbitrary: unitSerial }, { weight: 1, arbitrary: fc.constantFrom('x', '%00', '..', 'ZZZZZZZZZZZZZZZZZZ') }));
  const query = (key: RouteKey) => (key === 'GET /v1/units'
    ? fc.option(fc.record({ workOrder: woId, status: fc.constantFrom('issued', 'confirmed', 'bogus'), limit: fc.constantFrom('1', '1000', '1001', '-1', 'x'), cursor: fc.constantFrom('', 'abc', 'x'.repeat(300)) }, { requiredKeys: [] }).map((q) => `?${new URLSearchParams(q as Record<string, string>)}`), { nil: '' })
    : key === 'GET /v1/audit' ? fc.constantFrom('', '?limit=5', '?afterSeq=-1', '?limit=0', '?x=1') : fc.constantFrom('', '', '?x=1'));
  // Body routes carry the hostile input; whole-log reads (audit verify, reconcile) cost O(log) each: rare.
  const weight = (k: RouteKey) => (BODY_OP[k] ? 6 : k === 'GET /v1/audit/verify' || k === 'GET /v1/reconcile' ? 1 : 2);
  const routed = fc.oneof(...keys.map((k) => ({ weight: weight(k), arbitrary: fc.constant(k) }))).chain((key) => {
    const [method, pattern] = key.split(' ') as [string, string];
    const names = [...pattern.matchAll(/\/:([a-z]+)/g)].map((m) => m[1]!);
    const op = BODY_OP[key];
    return fc.record({
      who: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ACTORS.flatMap((a, i) => (ROUTES[key] === 'public' || (ROUTES[key] as readonly string[]).includes(a.role) ? [i] : []))) }, { weight: 2, arbitrary: fc.nat(ANON) }),
      params: fc.tuple(...names.map(param)),
      query: query(key),
      spelling: fc.oneof({ weight: 8, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(RESPELL.length - 1) }),
      contentType: fc.oneof({ weight: 12, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', '', 'application/jsonx') }),
      body: op ? fc.oneof({ weight: 20, arbitrary: hostileJsonFrom(bodies[op], 12) }, { weight: 1, arbitrary: fc.constant('{"reason":"' + 'x'.repeat(70_000) + '"}') }) : fc.constant(null),
    }).map((r): Input => {
      let i = 0;
      const path = pattern.replace(/\/:([a-z]+)/g, () => `/${encodeURIComponent(r.params[i++] as string)}`) + r.query;
      return { who: r.who, method, route: key, path: r.spelling < 0 ? path : RESPELL[r.spelling]!(path), spelled: r.spelling >= 0, contentType: r.contentType, body: r.body };
    });
  });
  const stray = fc.record({
    who: fc.nat(ANON), method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path: fc.oneof(fc.constantFrom('/', '/v1', '/v1/', '/v2/units', '/v1/units/x/y/z', '/v1/work-orders/WO-OPEN/open', '/.env', '/v1/units%00'), fc.webPath().map((p) => p || '/')),
    contentType: fc.constant('application/json'), body: fc.option(hostileValue.map((v) => JSON.stringify(v) ?? 'null'), { nil: null }),
  }).map((r): Input => ({ ...r, route: null, spelled: false }));
  return fc.oneof({ weight: 12, arbitrary: routed }, { weight: 1, arbitrary: stray });
}

/** The route of the table `method path` is, compared exactly as the router does (case- and slash-sensitive). */
function matchRoute(method: string, path: string): RouteKey | null {
  const p = path.split('?', 1)[0]!;
  for (const key of Object.keys(ROUTES) as RouteKey[]) {
    const [m, pattern] = key.split(' ') as [string, string];
    if (m !== method) continue;
    const re = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\/:([a-z]+)/g, '/[^/]+')}$`);
    if (re.test(p)) return key;
  }
  return null;
}

/** The target. */
export const stationHttpTarget: FuzzTarget<Input> = {
  name: 'station-http',
  summary: 'createApp over HTTPS with a certificate per role and none: every route with hostile bodies, other spellings of paths, stray paths; JSON answers, table authority, no 5xx, store invariants after',
  heapBoundBytes: 64 * 1024 * 1024,
  async setup() {
    const bed = await provisioningBed('station-http');
    const model = await presetStation(bed);
    const marks = writeMarks(bed);
    const fingerprint = bed.db.prepare('SELECT fingerprint_sha256 FROM units WHERE serial = ?').pluck();
    const rootPem = toPem(bed.rootDer);
    const issuingPem = toPem(bed.issuingDer);
    const serverKey = generateSoftwareKey();
    const serverCert = await createServerTlsCert({ issuer: bed.issuing, org: 'Keyline Fuzz', spki: serverKey.spki });
    writeFileSync(join(bed.dir, 'server.key.pem'), serverKey.privateKeyPem);
    writeFileSync(join(bed.dir, 'server.pem'), toPem(new Uint8Array(serverCert.rawData)));
    const app = createApp({
      provisioning: bed.prov,
      oversight: {
        auditPage: (afterSeq, limit) => bed.store.transaction((tx) => tx.audit.list({ afterSeq, limit }), { readOnly: true }),
        verifyAudit: () => verifyAuditChain(bed.store),
        reconcile: createReconcile({ store: bed.store }),
      },
      chainPem: issuingPem + rootPem,
      auth: { isRevoked: () => false, onAuthenticated: (p) => bed.prov.registerStation(p.id, p.fingerprintSha256, p.role) },
      metrics: new Metrics(), log: silentLogger, bodyLimitBytes: 64 * 1024,
      health: async () => ({ ok: true, checks: {} }),
    });
    const listener = await listenHttps({
      host: '127.0.0.1', port: 0, tlsKeyFile: join(bed.dir, 'server.key.pem'), tlsCertFile: join(bed.dir, 'server.pem'), issuingPem, trustedPems: [rootPem, issuingPem], handler: app.callback(), maxConnections: 1024, log: silentLogger,
    });
    const port = Number(new URL(listener.url).port);
    const agents: Agent[] = [];
    for (const a of ACTORS) {
      const k = generateSoftwareKey();
      const cert = await createClientCert({ issuer: bed.issuing, stationId: a.id, org: 'Keyline Fuzz', spki: k.spki, role: a.role });
      agents.push(new Agent({ keepAlive: true, maxSockets: 1, ca: [rootPem, issuingPem], key: k.privateKeyPem, cert: toPem(new Uint8Array(cert.rawData)) + issuingPem }));
    }
    agents.push(new Agent({ keepAlive: true, maxSockets: 1, ca: [rootPem, issuingPem] }));

    const send = (input: Input, body: string | null) => new Promise<{ status: number; json: unknown; raw: string }>((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body !== null) {
        headers['content-type'] = input.contentType;
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = httpsRequest({ host: '127.0.0.1', port, servername: 'localhost', agent: agents[input.who], method: input.method, path: input.path, headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = raw ? JSON.parse(raw) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, raw });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new FuzzFinding(`no answer within 10 s to ${input.method} ${clip(input.path, 100)}`)));
      req.on('error', reject);
      req.end(body ?? undefined);
    });

    return {
      arbitrary: arbitrary(validBodies((await csrSamples()).filter((c) => c.raw))),
      async check(input) {
        const path = input.path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
        const serialParam = /\/v1\/units\/([^/?]+)/.exec(path)?.[1];
        const fp = (serialParam && (fingerprint.get(decodeURIComponent(serialParam).toUpperCase()) as string | undefined)) ?? '0'.repeat(64);
        const body = input.body?.includes(FP) ? input.body.replaceAll(FP, fp) : input.body;
        const before = marks();
        let r;
        try {
          r = await send({ ...input, path }, body);
        } catch (err) {
          throw err instanceof FuzzFinding ? err : new FuzzFinding(`${input.method} ${clip(path, 100)}: no answer (${describe(err)})`);
        }
        const where = `${input.method} ${clip(path, 120)} as ${ACTORS[input.who]?.id ?? 'anonymous'}`;
        const route = matchRoute(input.method, path);
        if (r.status >= 400) {
          const e = errorBody.safeParse(r.json);
          ensure(e.success, () => `${where}: ${r.status} without an error body: ${clip(r.raw, 200)}`);
          const code = e.data!.error.code as ErrorCode;
          ensure(Object.hasOwn(ERROR_TABLE, code) && ERROR_TABLE[code].http === r.status, () => `${where}: ${r.status} with code ${code}`);
          // This bed wires no revocation service and none of the console's (issue 18): those routes answer NOT_SUPPORTED (501) by design.
          ensure(isExposedRefusal(code) || (code === 'NOT_SUPPORTED' && route !== null && UNBUILT.has(route)), () => `${where}: ${r.status} ${code} ${clip(e.data!.error.message, 200)}`);
          const after = marks();
          ensure(after.units === before.units && after.orders === before.orders, () => `${where} refused (${code}) but wrote rows`);
          // The table decides before any handler: no certificate, no answer but 401 off the public routes.
          if (input.who === ANON && !(route && ROUTES[route] === 'public')) ensure(r.status === 401, () => `${where}: ${r.status} ${code} without a certificate`);
          if (input.who !== ANON && route && ROUTES[route] !== 'public' && !(ROUTES[route] as readonly string[]).includes(ACTORS[input.who]!.role)) ensure(code === 'FORBIDDEN', () => `${where}: ${code}, not FORBIDDEN, for a role the table does not list`);
          if (input.who !== ANON && !route) ensure(['NOT_FOUND', 'METHOD_NOT_ALLOWED'].includes(code), () => `${where}: ${code} for a path no route has`);
          return `${input.route ?? 'stray'}${input.spelled ? ' (respelled)' : ''} ${code}`;
        }
        ensure(route, () => `${where}: ${r.status} for a path no route has: ${clip(r.raw, 200)}`);
        ensure(ROUTES[route!] === 'public' || (input.who !== ANON && (ROUTES[route!] as readonly string[]).includes(ACTORS[input.who]!.role)), () => `${where}: ${r.status} for a caller the table does not admit`);
        judgeSuccess(route!, r.status, r.json, body);
        return `${route} ${r.status}`;
      },
      async afterAll() {
        await checkStore(bed, model);
      },
      async close() {
        for (const a of agents) a.destroy();
        await listener.close();
        await bed.close();
      },
    };

    function judgeSuccess(route: RouteKey, status: number, json: unknown, body: string | null): void {
      if (route === 'POST /v1/units') {
        const u = json as { serial: string; certificatePem: string; fingerprintSha256: string };
        const der = Buffer.from(u.certificatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
        // 201 issued, 200 the same certificate again (an idempotent replay).
        judgeIssued({ serial: u.serial, certificateDer: der, fingerprintSha256: u.fingerprintSha256, replayed: status === 200 }, JSON.parse(body!), model);
      } else if (route === 'POST /v1/units:batch') {
        const b = unitBatchResponse.parse(json);
        const sent = (JSON.parse(body!) as { units: Array<{ serial: string; workOrder: string; publicKey?: string }> }).units;
        b.results.forEach((res, i) => {
          if (!res.ok) return;
          const der = Buffer.from(res.certificatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
          const replayed = model.units.get(res.serial)?.fingerprint === res.fingerprintSha256;
          judgeIssued({ serial: res.serial, certificateDer: der, fingerprintSha256: res.fingerprintSha256, replayed }, sent[i]!, model);
        });
      } else if (route === 'POST /v1/work-orders') {
        const wo = workOrderView.parse(json);
        ensure(!model.workOrders.has(wo.id), `work order ${wo.id} created twice`);
        model.workOrders.add(wo.id);
      }
    }
  },
};
