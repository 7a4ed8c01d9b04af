/**
 * npm run bench:issue -- [--units N] [--rounds R] [--batch-units N] [--memory-units N]
 *                        [--concurrency K] [--warmup N] [--workers W] [--no-cfssl] [--max-seconds S] [--json]
 * npm run bench:issue -- --via est [--units N] [--concurrency K] [--json]   (EST: bench/est.ts)
 *
 * Device certificates issued end to end through the station API (HTTPS + mTLS, SoftHSM signing,
 * SQLite WAL, the issuance rules, audit chain, preregistration outbox), against baselines
 * measured in the same run and driven by the same client (https-load.ts: K keep-alive
 * connections with client certificates):
 * - cfssl 1.2 (`cfssl serve`, TLS + client certificates + a SQLite WAL certdb: cfssl.ts) signing
 *   the same number of certificates, one CSR per request; Keyline's single-unit route and cfssl
 *   take turns in R rounds, so background load on a shared machine falls on both alike, after
 *   the same warm-up (N requests each, so Keyline's JavaScript is compiled as in a server that
 *   has been up);
 * - raw SoftHSM C_Sign/s on the issuing key (pkcs11js, no Keyline code) and `openssl speed`.
 * Then batches of 100 (POST /v1/units:batch), one request at a time (latency), and the server's
 * RSS over --memory-units more units (sampled every 5,000; growth per 100,000 from the slope). Prints PASS/FAIL against issue 13's targets;
 * exits 1 on a FAIL. Every phase runs under one deadline (--max-seconds), and the server, cfssl
 * and the temp folder are removed however the bench ends (normally, on an error, on SIGINT).
 */
import 'reflect-metadata';
import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDevPki } from '../server/ceremony/init-dev.js';
import { ensureCfssl, makeCsr, startCfssl, type CfsslServer } from './cfssl.js';
import { LoadClient, type LoadResponse } from './https-load.js';
import { benchArgs, fmt, onBenchExit, opensslEcdsaP256SignPerSec, percentile, rawSoftHsmSignPerSec, runConcurrent, spawnKeyline, stopChild } from './lib.js';
import { cpuSnapshot, cpuSpent } from './process-cpu.js';
import { killTree } from './process-tree.js';
import { rssSlopePer100k, treeRss } from './process-rss.js';

// `--via est` measures EST enrollments instead (bench/est.ts, issue 17), before anything of this bench runs.
const argv = process.argv.slice(2);
if (argv.some((a, i) => a === '--via=est' || (a === '--via' && argv[i + 1] === 'est'))) {
  await import('./est.js');
  process.exit(process.exitCode ?? 0);
}
const o = benchArgs('bench:issue', `npm run bench:issue -- [options]

Device certificates issued through the station API (HTTPS + mTLS, SoftHSM, SQLite WAL) against
cfssl 1.2 (TLS + client certificates + SQLite WAL certdb) driven by the same client in
alternating rounds, raw SoftHSM C_Sign and openssl speed; then batches of 100, one request at
a time, and the server's RSS per 100,000 units. PASS/FAIL against issue 13's targets (exit 1 on
a FAIL). Run it alone: flock /tmp/keyline-bench.lock npm run bench:issue

  --units N          single-unit certificates per server, over all rounds (default 8000)
  --rounds R         alternating Keyline/cfssl rounds (default 4)
  --concurrency K    keep-alive mTLS connections (default 64)
  --warmup N         single-unit requests to each server before the clock starts (default 6000:
                     with 1000, Keyline's first round ran 15-40 % below its later ones while
                     V8 was still compiling; bench/README.md)
  --batch-units N    units issued in batches of 100 (default 20000)
  --memory-units N   more units (batches) over which RSS is sampled (default 300000: over
                     100,000 the heap's swings of tens of MiB gave slopes of -15 to +52 MiB
                     on the same code; 0 skips)
  --workers W        run the server as keyline server --workers W, as a line would deploy it
                     (default 1: on 2 cores two workers issued fewer certificates/s, each paying
                     its own SQLite page cache, commits and lock waits; bench/README.md)
  --no-cfssl         skip the cfssl baseline (ratio not measured)
  --max-seconds S    deadline for the whole bench (default 900)
  --json             one JSON document instead of the table
  --via est          EST simpleenroll instead (bench/est.ts: enrollments/s beside POST /v1/units
                     on the same server; its own options: --units N --concurrency K --json)
  --help             this text
`, {
  units: { type: 'string' }, rounds: { type: 'string' }, 'batch-units': { type: 'string' }, 'memory-units': { type: 'string' },
  concurrency: { type: 'string' }, warmup: { type: 'string' }, workers: { type: 'string' }, 'no-cfssl': { type: 'boolean' }, 'max-seconds': { type: 'string' }, json: { type: 'boolean' },
});
const UNITS = Number(o.units ?? 8000);
const ROUNDS = Math.max(1, Number(o.rounds ?? 4));
const BATCH_UNITS = Math.ceil(Number(o['batch-units'] ?? 20_000) / 100) * 100;
const MEMORY_UNITS = Math.ceil(Number(o['memory-units'] ?? 300_000) / 100) * 100;
const K = Number(o.concurrency ?? 64);
const WORKERS = Number(o.workers ?? 1);
// A server that has been up has its hot paths compiled; both servers get the same warm-up.
const WARMUP = Number(o.warmup ?? 6000);
const log = (s: string) => !o.json && process.stdout.write(s + '\n');

let phase = 'setup';
const deadline = setTimeout(() => {
  process.stderr.write(`bench:issue: gave up after ${o['max-seconds'] ?? 900} s, in phase: ${phase}\n`);
  process.exit(2);
}, Number(o['max-seconds'] ?? 900) * 1000);
deadline.unref();
const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-'));
onBenchExit(() => rmSync(dir, { recursive: true, force: true }));

log(`bench:issue — ${fmt(UNITS)} single-unit certificates per server in ${ROUNDS} round(s), ${K} concurrent connections, keyline server --workers ${WORKERS}${o.workers === undefined ? ' (the default)' : ''}`);
log('building a throw-away dev PKI (SoftHSM tokens) ...');
const pki = await initDevPki({ out: dir });
const pem = (p: string) => readFileSync(p, 'utf8');

phase = 'baselines';
log('baselines: raw SoftHSM C_Sign (pkcs11js, 1 session), openssl speed ecdsap256 ...');
const rawSign = await rawSoftHsmSignPerSec({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin: pem(pki.linePinPath).trim(), keyLabel: 'issuing-ca', seconds: 2 });
const opensslSign = opensslEcdsaP256SignPerSec(2);

phase = 'keys';
const keyCount = WARMUP + UNITS + 300 + BATCH_UNITS + MEMORY_UNITS;
log(`pre-generating ${fmt(keyCount)} device keys${o['no-cfssl'] ? '' : ` and ${fmt(WARMUP + UNITS)} CSRs for cfssl`} ...`);
// Raw X‖Y in hex, as a station sends them (a reused key would be refused as DUPLICATE_KEY).
const keys = Array.from({ length: keyCount }, () => createECDH('prime256v1').generateKeys().subarray(1).toString('hex'));
let nextKey = 0;
const unit = () => ({ serial: ('0123' + randomBytes(6).toString('hex') + 'EE').toUpperCase(), publicKey: keys[nextKey++]!, workOrder: 'BENCH' });

phase = 'start keyline';
log('starting the Keyline server ...');
const { child: server, match } = await spawnKeyline(['server', '--config', pki.configPath, '--workers', String(WORKERS)], /^api (\S+)$/m, {
  KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_ENROLL_PORT: '0', KEYLINE_LOG_LEVEL: 'warn',
}, 60_000);
// The whole tree: a worker can outlive its primary (process-tree.ts). Only while the primary
// runs: after stopChild its pid (and so its tree) may be another process's.
onBenchExit(() => {
  if (server.exitCode === null && server.signalCode === null) killTree(server.pid);
});
const apiUrl = new URL(match[1]!);
const identity = { cert: pem(pki.stationCertPath), key: pem(pki.stationKeyPath), ca: pem(pki.rootCertPath), servername: 'localhost' };
const keyline = new LoadClient({ host: apiUrl.hostname, port: Number(apiUrl.port), ...identity }, K);
onBenchExit(() => keyline.close());
const operator = new LoadClient({ host: apiUrl.hostname, port: Number(apiUrl.port), ...identity, cert: pem(pki.operatorCertPath), key: pem(pki.operatorKeyPath) }, 1);
expectStatus(await operator.post('/v1/work-orders', JSON.stringify({ id: 'BENCH', product: 'Bench', quota: keyCount })), 201, 'work order');
operator.close();

/** One single-unit issuance through the station API; the answer must carry the certificate. */
async function keylineSingle(): Promise<void> {
  const r = expectStatus(await keyline.post('/v1/units', JSON.stringify(unit())), 201, 'POST /v1/units');
  if (!(JSON.parse(r.body.toString('utf8')) as { certificatePem?: string }).certificatePem) throw new Error('POST /v1/units: no certificatePem');
}

let cfssl: { server: CfsslServer; client: LoadClient; csrs: string[]; next: number; version: string } | undefined;
let cfsslSkipped: string | undefined;
if (o['no-cfssl']) cfsslSkipped = '--no-cfssl';
else {
  phase = 'start cfssl';
  const found = ensureCfssl(log);
  if (!found.ok) cfsslSkipped = found.why;
  else {
    log(`starting cfssl ${found.version} (TLS, client certificates, SQLite WAL certdb) ...`);
    writeFileSync(join(dir, 'tls-chain.pem'), pem(pki.serverCertPath) + pem(pki.issuingCertPath));
    writeFileSync(join(dir, 'client-ca.pem'), pem(pki.rootCertPath) + pem(pki.issuingCertPath));
    const server = await startCfssl({ dir, tlsChainPath: join(dir, 'tls-chain.pem'), tlsKeyPath: pki.serverKeyPath, clientCaPath: join(dir, 'client-ca.pem') });
    const client = new LoadClient({ host: '127.0.0.1', port: server.port, ...identity }, K);
    onBenchExit(() => client.close());
    const csrs = Array.from({ length: WARMUP + UNITS }, (_, i) => makeCsr(`0123${i.toString(16).toUpperCase().padStart(12, '0')}EE`));
    cfssl = { server, client, csrs, next: 0, version: found.version };
  }
}

/** One cfssl sign request; the answer must carry the certificate. */
async function cfsslSingle(): Promise<void> {
  const c = cfssl!;
  const r = expectStatus(await c.client.post('/api/v1/cfssl/sign', JSON.stringify({ certificate_request: c.csrs[c.next++] })), 200, 'cfssl sign');
  const j = JSON.parse(r.body.toString('utf8')) as { success?: boolean; result?: { certificate?: string } };
  if (!j.success || !j.result?.certificate) throw new Error(`cfssl sign: ${r.body.toString('utf8').slice(0, 300)}`);
}

const partOf = (pid: number) => (pid === server.pid ? 'keyline' : pid === cfssl?.server.child.pid ? 'cfssl' : undefined);

/** Runs `n` jobs at concurrency `k` and what they cost: rate, latencies, CPU of each part. */
async function measure(n: number, k: number, job: () => Promise<void>): Promise<{ n: number; seconds: number; latencies: number[]; cpu: ReturnType<typeof cpuSpent> }> {
  const c0 = cpuSnapshot(partOf);
  const r = await runConcurrent(n, k, job);
  return { n, ...r, cpu: cpuSpent(c0, cpuSnapshot(partOf)) };
}

const rate = (m: { n: number; seconds: number }, per = 1) => (m.n * per) / m.seconds;
const total = (ms: Array<{ n: number; seconds: number; latencies: number[] }>) => ({
  n: ms.reduce((a, m) => a + m.n, 0), seconds: ms.reduce((a, m) => a + m.seconds, 0), latencies: ms.flatMap((m) => m.latencies),
});
const cpuUs = (ms: Array<Awaited<ReturnType<typeof measure>>>, part: string, of: 'parts' | 'loops' = 'parts') => (ms.reduce((a, m) => a + (m.cpu[of][part] ?? 0), 0) / ms.reduce((a, m) => a + m.n, 0)) * 1e6;
const clientUs = (ms: Array<Awaited<ReturnType<typeof measure>>>) => (ms.reduce((a, m) => a + m.cpu.self, 0) / ms.reduce((a, m) => a + m.n, 0)) * 1e6;
// What processes other than these took of the machine meanwhile (cores).
const others = (ms: Array<Awaited<ReturnType<typeof measure>>>) => ms.reduce((a, m) => a + m.cpu.machineBusy - m.cpu.self - Object.values(m.cpu.parts).reduce((x, y) => x + y, 0), 0) / ms.reduce((a, m) => a + m.seconds, 0);

phase = 'warm-up';
log(`warm-up: ${fmt(WARMUP)} single-unit requests to each server ...`);
await runConcurrent(WARMUP, K, keylineSingle);
if (cfssl) await runConcurrent(WARMUP, K, cfsslSingle);

// The single-unit rounds, taking turns.
const singles = { keyline: [] as Awaited<ReturnType<typeof measure>>[], cfssl: [] as Awaited<ReturnType<typeof measure>>[] };
for (let r = 0; r < ROUNDS; r++) {
  const n = Math.round(UNITS / ROUNDS);
  phase = `single-unit round ${r + 1}: keyline`;
  singles.keyline.push(await measure(n, K, keylineSingle));
  if (cfssl) {
    phase = `single-unit round ${r + 1}: cfssl`;
    singles.cfssl.push(await measure(n, K, cfsslSingle));
  }
  log(`round ${r + 1}/${ROUNDS}: keyline ${fmt(rate(singles.keyline.at(-1)!))} certs/s${cfssl ? `, cfssl ${fmt(rate(singles.cfssl.at(-1)!))} certs/s` : ''}`);
}
const cfsslRecorded = cfssl?.server.recorded();
if (cfssl) await stopChild(cfssl.server.child);

phase = 'one at a time';
const single = await measure(300, 1, keylineSingle);

phase = 'batches';
log(`batches of 100: ${fmt(BATCH_UNITS)} units ...`);
const batchOf100 = async (): Promise<void> => {
  const r = expectStatus(await keyline.post('/v1/units:batch', JSON.stringify({ units: Array.from({ length: 100 }, unit) })), 200, 'POST /v1/units:batch');
  const bad = (JSON.parse(r.body.toString('utf8')) as { results: Array<{ ok: boolean; error?: { code: string } }> }).results.find((x) => !x.ok);
  if (bad) throw new Error(`batch refused a unit: ${bad.error?.code}`);
};
const batch = await measure(BATCH_UNITS / 100, Math.min(8, K), batchOf100);

phase = 'memory';
log(`memory: RSS of the server over ${fmt(MEMORY_UNITS)} more units (batches of 100) ...`);
const rss: Array<{ units: number; mib: number }> = [];
const issuedBefore = () => WARMUP + UNITS + 300 + BATCH_UNITS;
rss.push({ units: issuedBefore(), mib: treeRss(server.pid!) });
for (let done = 0; done < MEMORY_UNITS;) {
  const step = Math.min(5_000, MEMORY_UNITS - done);
  await runConcurrent(step / 100, Math.min(8, K), batchOf100);
  done += step;
  rss.push({ units: issuedBefore() + done, mib: treeRss(server.pid!) });
}
const rssPer100k = MEMORY_UNITS ? rssSlopePer100k(rss) : NaN;
keyline.close();
phase = 'stop keyline';
const stopped = await stopChild(server);

const kl = total(singles.keyline);
const cf = cfssl ? total(singles.cfssl) : undefined;
const result = {
  units: UNITS, rounds: ROUNDS, concurrency: K, workers: WORKERS,
  baseline: {
    softhsmRawSignPerSec: Math.round(rawSign), opensslEcdsaP256SignPerSec: Math.round(opensslSign),
    cfssl: cf ? { version: cfssl!.version, certsPerSec: Math.round(rate(cf)), p50ms: percentile(cf.latencies, 50), p99ms: percentile(cf.latencies, 99), serverCpuUsPerCert: Math.round(cpuUs(singles.cfssl, 'cfssl')), recorded: cfsslRecorded } : { skipped: cfsslSkipped },
  },
  single: { certsPerSec: Math.round(rate(kl)), p50ms: percentile(kl.latencies, 50), p99ms: percentile(kl.latencies, 99), serverCpuUsPerCert: Math.round(cpuUs(singles.keyline, 'keyline')), serverLoopCpuUsPerCert: Math.round(cpuUs(singles.keyline, 'keyline', 'loops')), clientCpuUsPerCert: Math.round(clientUs(singles.keyline)), othersCores: others(singles.keyline) },
  oneAtATime: { certsPerSec: Math.round(rate(single)), p50ms: percentile(single.latencies, 50), p99ms: percentile(single.latencies, 99) },
  batch100: { certsPerSec: Math.round(rate(batch, 100)), p50ms: percentile(batch.latencies, 50), p99ms: percentile(batch.latencies, 99), serverCpuUsPerCert: Math.round(cpuUs([batch], 'keyline') / 100), serverLoopCpuUsPerCert: Math.round(cpuUs([batch], 'keyline', 'loops') / 100) },
  memory: { rssMiB: rss, rssGrowthMiBPer100k: rssPer100k, extrapolated: MEMORY_UNITS < 100_000 },
  stopMs: Math.round(stopped.ms),
};
const ratio = cf ? rate(kl) / rate(cf) : undefined;
const rssFlat = !(rssPer100k > Math.max(16, rss[0]!.mib * 0.1));
const checks = [
  { what: `single-unit route >= 1.5x cfssl at ${K} concurrent: ${ratio === undefined ? `not measured (${cfsslSkipped})` : `${ratio.toFixed(2)}x`}`, ok: ratio === undefined ? undefined : ratio >= 1.5 },
  { what: `single-unit route p99 <= 50 ms at ${K} concurrent: ${fmt(result.single.p99ms, 1)} ms`, ok: result.single.p99ms <= 50 },
  { what: `batches >= 4,000 certs/s: ${fmt(result.batch100.certsPerSec)}/s`, ok: result.batch100.certsPerSec >= 4000 },
  { what: `RSS flat: ${fmt(rssPer100k, 1)} MiB per 100,000 units (slope over ${rss.length} samples)${MEMORY_UNITS < 100_000 ? ` (extrapolated from ${fmt(MEMORY_UNITS)})` : ''}, at most max(16 MiB, 10 % of ${fmt(rss[0]!.mib)} MiB)`, ok: MEMORY_UNITS ? rssFlat : undefined },
];
const pass = checks.every((c) => c.ok !== false);
if (o.json) {
  process.stdout.write(JSON.stringify({ ...result, ratioVsCfssl: ratio, checks, pass }, null, 2) + '\n');
} else {
  const lat = (m: { p50ms: number; p99ms: number }, unitName = '') => `p50 ${fmt(m.p50ms, 1)} ms${unitName}  p99 ${fmt(m.p99ms, 1)} ms${unitName}`;
  log('');
  log(`baseline  raw SoftHSM C_Sign           ${fmt(rawSign)} sign/s`);
  log(`baseline  openssl speed ecdsap256      ${fmt(opensslSign)} sign/s`);
  if (cf) log(`baseline  cfssl ${cfssl!.version} sign, ${K} conc.   ${fmt(rate(cf))} certs/s   ${lat({ p50ms: percentile(cf.latencies, 50), p99ms: percentile(cf.latencies, 99) })}   server CPU ${fmt(cpuUs(singles.cfssl, 'cfssl'))} µs/cert, ${fmt(cfsslRecorded ?? 0)} rows in its certdb`);
  else log(`baseline  cfssl                        not measured: ${cfsslSkipped}`);
  log(`keyline   single-unit, ${K} conc.      ${fmt(result.single.certsPerSec)} certs/s   ${lat(result.single)}   server CPU ${fmt(result.single.serverCpuUsPerCert)} µs/cert (event loop ${fmt(result.single.serverLoopCpuUsPerCert)}), client ${fmt(result.single.clientCpuUsPerCert)} µs`);
  log(`keyline   one at a time               ${fmt(result.oneAtATime.certsPerSec)} certs/s   ${lat(result.oneAtATime)}`);
  log(`keyline   batches of 100, 8 conc.     ${fmt(result.batch100.certsPerSec)} certs/s   ${lat(result.batch100, '/batch')}   server CPU ${fmt(result.batch100.serverCpuUsPerCert)} µs/cert (event loop ${fmt(result.batch100.serverLoopCpuUsPerCert)})`);
  log(`keyline   RSS                         ${rss.filter((_, i) => i % 2 === 0 || i === rss.length - 1).map((x) => `${fmt(x.mib)} MiB @ ${fmt(x.units / 1000)}k`).join(', ')}`);
  if (ratio !== undefined) log(`ratio     single-unit / cfssl         ${ratio.toFixed(2)}x`);
  log(`ratio     batches / raw C_Sign        ${(result.batch100.certsPerSec / rawSign).toFixed(2)}`);
  log(`machine   other processes took ${fmt(result.single.othersCores, 2)} of the cores during the single-unit rounds (load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
  log(`server    stopped in ${fmt(result.stopMs)} ms`);
  log('');
  for (const c of checks) log(`${c.ok === undefined ? 'n/a ' : c.ok ? 'PASS' : 'FAIL'}  ${c.what}`);
  log(pass ? 'PASS' : 'FAIL');
}
process.exitCode = pass ? 0 : 1;

function expectStatus(r: LoadResponse, status: number, what: string): LoadResponse {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`);
  return r;
}
