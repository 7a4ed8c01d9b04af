/**
 * node --import tsx bench/est.ts [--units N] [--concurrency K] [--json]
 * (meant to be reached as `npm run bench:issue -- --via est`: bench/issue.ts hands over to it)
 *
 * EST enrollments/s (issue 17: POST /.well-known/est/simpleenroll, a station's client
 * certificate, base64 PKCS#10 in, certs-only PKCS#7 out) beside the station API's single-unit
 * route on the same server in the same run, taking turns. EST closes the connection after each
 * answer (what common clients expect), so every EST request pays a TLS handshake; the station
 * API is measured both ways: keep-alive (how stations run) and a new connection per request
 * (the same transport cost as EST), so the ratio shows what EST itself adds.
 */
import 'reflect-metadata';
import { createECDH, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCsr } from '../test/helpers/est.js';
import { benchArgs, fmt, onBenchExit, percentile, runConcurrent, spawnKeyline, stopChild } from './lib.js';

const o = benchArgs('bench:issue', `npm run bench:issue -- --via est [options]

EST enrollments/s (POST /.well-known/est/simpleenroll with a station's client certificate; EST
closes the connection after each answer, so each request pays a TLS handshake) beside the station
API's POST /v1/units on the same server in the same run, taking turns over 2 rounds: keep-alive
(how stations run) and a new connection per request (EST's transport cost: the baseline); the
ratios show what EST itself adds. No PASS/FAIL target.
Run it alone: flock /tmp/keyline-bench.lock npm run bench:issue -- --via est

  --units N          certificates per path, over both rounds (default 2000)
  --concurrency K    concurrent clients (default 16)
  --json             one JSON document instead of the report
  --help             this text
`, { units: { type: 'string' }, concurrency: { type: 'string' }, json: { type: 'boolean' }, via: { type: 'string' } });
const UNITS = Number(o.units ?? 2000);
const K = Number(o.concurrency ?? 16);
const ROUNDS = 2;
const log = (s: string) => !o.json && process.stdout.write(s + '\n');

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-est-'));
onBenchExit(() => rmSync(dir, { recursive: true, force: true }));
log(`bench:est — EST simpleenroll vs POST /v1/units, ${fmt(UNITS)} certificates each, ${K} concurrent clients, ${ROUNDS} rounds`);
log('building a throw-away dev PKI (SoftHSM tokens) ...');
const { child: ceremony } = await spawnKeyline(['ceremony', 'init', '--dev', '--out', dir], /done/);
await new Promise((r) => ceremony.once('exit', r));
const configPath = join(dir, 'keyline.json');
const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
writeFileSync(configPath, JSON.stringify({ ...config, est: { defaultLabel: 'bench', labels: { bench: { workOrder: 'BENCH' } } } }, null, 2));

const pem = (f: string) => readFileSync(join(dir, f), 'utf8');
const station = { cert: pem('station-01.pem'), key: pem('station-01.key.pem'), ca: pem('root-ca.pem'), servername: 'localhost' };

const serial = () => ('0123' + randomBytes(6).toString('hex') + 'EE').toUpperCase();

log(`pre-generating ${fmt(2 * ROUNDS * UNITS + 3 * UNITS / ROUNDS + 200)} keys and CSRs ...`);
const estBodies = Array.from({ length: UNITS + 100 }, () => Buffer.from(buildCsr(serial()).der.toString('base64').replace(/.{64}/g, '$&\n'), 'latin1'));
const apiBodies = Array.from({ length: 2 * UNITS + 100 }, () => JSON.stringify({ serial: serial(), publicKey: createECDH('prime256v1').generateKeys().subarray(1).toString('hex'), workOrder: 'BENCH' }));

log('starting the Keyline server ...');
const { child: server, match } = await spawnKeyline(['server', '--config', configPath], /^api (\S+)$/m, {
  KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_ENROLL_PORT: '0', KEYLINE_LOG_LEVEL: 'warn',
}, 60_000);
onBenchExit(() => server.kill('SIGKILL'));
const api = new URL(match[1]!);

/** One request; resolves with status and body. `agent` false = a new TLS connection. */
function send(method: string, path: string, body: Buffer | string, headers: Record<string, string>, agent: Agent | false, id = station): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: api.hostname, port: Number(api.port), method, path, agent, ...id, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const expect = (r: { status: number; body: Buffer }, status: number, what: string) => {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
};
const operator = { ...station, cert: pem('operator-01.pem'), key: pem('operator-01.key.pem') };
expect(await send('POST', '/v1/work-orders', JSON.stringify({ id: 'BENCH', product: 'Bench', quota: 10 * UNITS + 1000 }), { 'Content-Type': 'application/json' }, false, operator), 201, 'work order');

let nextEst = 0;
let nextApi = 0;
const keepAlive = new Agent({ keepAlive: true, maxSockets: K });
onBenchExit(() => keepAlive.destroy());
const estOne = async () => {
  const r = await send('POST', '/.well-known/est/simpleenroll', estBodies[nextEst++]!, { 'Content-Type': 'application/pkcs10' }, false);
  expect(r, 200, 'simpleenroll');
  if (!r.body.toString('latin1').startsWith('MII')) throw new Error('simpleenroll: not a base64 PKCS#7');
};
const apiOne = (agent: Agent | false) => async () => expect(await send('POST', '/v1/units', apiBodies[nextApi++]!, { 'Content-Type': 'application/json' }, agent), 201, 'POST /v1/units');

log('warm-up ...');
await runConcurrent(50, K, estOne);
await runConcurrent(50, K, apiOne(keepAlive));
type Run = { seconds: number; latencies: number[] };
const runs = { est: [] as Run[], apiKeepAlive: [] as Run[], apiNewConnection: [] as Run[] };
for (let r = 0; r < ROUNDS; r++) {
  const n = Math.floor(UNITS / ROUNDS);
  runs.est.push(await runConcurrent(n, K, estOne));
  runs.apiKeepAlive.push(await runConcurrent(n, K, apiOne(keepAlive)));
  runs.apiNewConnection.push(await runConcurrent(n, K, apiOne(false)));
  log(`round ${r + 1}/${ROUNDS}: EST ${fmt(n / runs.est.at(-1)!.seconds)}/s, station API ${fmt(n / runs.apiKeepAlive.at(-1)!.seconds)}/s keep-alive, ${fmt(n / runs.apiNewConnection.at(-1)!.seconds)}/s new connection each`);
}
keepAlive.destroy();
await stopChild(server);

const summary = (xs: Run[]) => {
  const lat = xs.flatMap((x) => x.latencies);
  return { perSec: Math.round(lat.length / xs.reduce((a, x) => a + x.seconds, 0)), p50ms: +percentile(lat, 50).toFixed(1), p99ms: +percentile(lat, 99).toFixed(1) };
};
const result = { units: UNITS, concurrency: K, est: summary(runs.est), apiKeepAlive: summary(runs.apiKeepAlive), apiNewConnection: summary(runs.apiNewConnection) };
if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
else {
  log('');
  log(`EST simpleenroll (new TLS connection each, as EST closes it): ${fmt(result.est.perSec)} enrollments/s   p50 ${result.est.p50ms} ms  p99 ${result.est.p99ms} ms`);
  log(`station API POST /v1/units, new connection each (same run):   ${fmt(result.apiNewConnection.perSec)} certs/s         p50 ${result.apiNewConnection.p50ms} ms  p99 ${result.apiNewConnection.p99ms} ms`);
  log(`station API POST /v1/units, keep-alive (same run):            ${fmt(result.apiKeepAlive.perSec)} certs/s         p50 ${result.apiKeepAlive.p50ms} ms  p99 ${result.apiKeepAlive.p99ms} ms`);
  log(`EST / station API: ${(result.est.perSec / result.apiNewConnection.perSec).toFixed(2)} against a new connection each, ${(result.est.perSec / result.apiKeepAlive.perSec).toFixed(2)} against keep-alive`);
}
