/**
 * npm run bench:ocsp -- [--seconds S] [--connections C] [--depth D] [--workers 1,2] [--crl-entries N] [--no-cfssl] [--no-postgres] [--json]
 *
 * 1. OCSP responses/s over HTTP from `keyline server --workers W` for each W (default 1 and 2):
 *    C keep-alive connections each with D pipelined POSTs in flight (a raw-socket client, so the
 *    load generator is not the bottleneck), alternating pre-built requests (no nonce) for a good
 *    and a revoked unit issued through the API: serials the responder knows, so this measures its
 *    cached pre-signed answers (REVOCATION.md). Every response must be the 200 answer for its
 *    request. Also timed: how long SIGTERM takes to stop the server (all workers).
 * 2. Baselines from the same run, measured by the same client: cfssl's pre-signed responder
 *    (`cfssl ocspserve`, Debian's golang-cfssl) serving Keyline's own two answers, and raw SoftHSM
 *    C_Sign/s on the responder key (pkcs11js, no Keyline code): what signing every answer would cost.
 * 3. CRL of N (100,000) revoked entries: build + HSM signature from memory; then the publisher
 *    (read N rows, build, sign, store) on SQLite, and on a throw-away PostgreSQL cluster when its
 *    binaries are installed. The read before issue 13 (listSince: full records) is timed beside
 *    the one the publisher uses (listForCrl).
 * Every step has a deadline; the servers, cfssl, PostgreSQL and the temp folder are removed
 * however the bench ends (normally, on an error, or on SIGINT/SIGTERM).
 */
import 'reflect-metadata';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StationApiClient } from '../station/api-client.js';
import { initDevPki } from '../server/ceremony/init-dev.js';
import { Pkcs11KeyStore } from '../server/hsm/pkcs11-key-store.js';
import { crlIssuerOf, issueCrl, type CrlEntry, type CrlIssuer } from '../server/ca/crl.js';
import { CrlPublisher } from '../server/services/crl-publisher.js';
import { openStore } from '../server/store/open-store.js';
import { findPgBinDir } from '../scripts/pg-binaries.js';
import { startTempPostgres } from '../scripts/temp-postgres.js';
import { benchArgs, fmt, freePort, onBenchExit, rawSoftHsmSignPerSec, spawnKeyline, stopChild, waitListening } from './lib.js';

const run = promisify(execFile);
const o = benchArgs('bench:ocsp', `npm run bench:ocsp -- [options]

OCSP responses/s over HTTP from keyline server --workers W (C keep-alive connections, D pipelined
POSTs each, a good and a revoked unit: the responder's cached pre-signed answers; every answer
must be the expected 200) and how long SIGTERM takes to stop each server; then a CRL of N revoked
entries built and signed from memory, and published (read, build, sign, store) on SQLite and on a
throw-away PostgreSQL cluster. Baselines from the same run, same client: cfssl ocspserve serving
Keyline's own answers (golang-cfssl), raw SoftHSM C_Sign/s on the responder key; ratios to both.
PASS/FAIL (issue 13): >= 20,000 responses/s with 2 workers, no bad answer, SIGTERM stops every
server within 5 s, CRL published < 1 s, openssl verifies every CRL. Exit 1 on a FAIL; a step that
hangs ends the bench after 10 min (exit 3), and everything it started is removed however it ends.
Run it alone: flock /tmp/keyline-bench.lock npm run bench:ocsp

  --seconds S        load time per server (default 5)
  --connections C    keep-alive connections (default 32)
  --depth D          pipelined requests in flight per connection (default 8)
  --workers LIST     the server's --workers values to measure, comma-separated (default 1,2)
  --crl-entries N    revoked entries in the CRL (default 100000)
  --no-cfssl         skip the cfssl ocspserve baseline
  --no-postgres      skip the CRL publisher on PostgreSQL
  --json             one JSON document instead of the report
  --help             this text
`, {
  seconds: { type: 'string' }, connections: { type: 'string' }, depth: { type: 'string' }, workers: { type: 'string' },
  'crl-entries': { type: 'string' }, 'no-cfssl': { type: 'boolean' }, 'no-postgres': { type: 'boolean' }, json: { type: 'boolean' },
});
const SECONDS = Number(o.seconds ?? 5);
const CONNECTIONS = Number(o.connections ?? 32);
const DEPTH = Number(o.depth ?? 8);
const WORKERS = (o.workers ?? '1,2').split(',').map(Number);
const CRL_ENTRIES = Number(o['crl-entries'] ?? 100_000);
// Targets (issue 13).
const AIM_OCSP_2_WORKERS = 20_000;
const AIM_CRL_MS = 1000;
const AIM_STOP_MS = 5000;
const log = (s: string) => !o.json && process.stdout.write(s + '\n');

// The whole run is bounded: a step that never ends is named, and everything is cleaned up.
let phase = 'start';
const WATCHDOG_MS = 10 * 60_000;
setTimeout(() => {
  process.stderr.write(`bench:ocsp: still in '${phase}' after ${WATCHDOG_MS / 60_000} min; giving up\n`);
  process.exit(3);
}, WATCHDOG_MS).unref();

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-ocsp-'));
onBenchExit(() => rmSync(dir, { recursive: true, force: true }));
/** Children still running (servers, cfssl): SIGKILLed if the bench ends before they are stopped. */
const children = new Set<ChildProcess>();
onBenchExit(() => { for (const c of children) c.kill('SIGKILL'); });

log(`bench:ocsp: ${SECONDS} s per run, ${CONNECTIONS} connections x ${DEPTH} pipelined; server workers ${WORKERS.join(', ')}; CRL of ${fmt(CRL_ENTRIES)} entries`);
phase = 'dev PKI';
const pki = await initDevPki({ out: dir });
const pin = readFileSync(pki.linePinPath, 'utf8').trim();

/** `keyline server --workers n` on free ports; its URLs. */
async function startKeyline(n: number): Promise<{ child: ChildProcess; apiUrl: string; publicUrl: URL }> {
  phase = `start keyline server --workers ${n}`;
  const { child, match } = await spawnKeyline(['server', '--config', pki.configPath, '--workers', String(n)], /^api (\S+)\npublic (\S+)$/m, {
    KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn', KEYLINE_ENROLL_PORT: '0',
  }, 60_000);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { child, apiUrl: match[1]!, publicUrl: new URL(match[2]!) };
}

/** Two units through the API (one revoked by the security officer); their certificate files. */
async function issueUnits(apiUrl: string): Promise<string[]> {
  phase = 'issue and revoke two units';
  const identity = (cert: string, key: string) => ({ cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), ca: readFileSync(pki.rootCertPath, 'utf8') });
  const station = new StationApiClient({ baseUrl: apiUrl, ...identity(pki.stationCertPath, pki.stationKeyPath) });
  const officer = new StationApiClient({ baseUrl: apiUrl, ...identity(pki.officerCertPath, pki.officerKeyPath) });
  const operator = new StationApiClient({ baseUrl: apiUrl, ...identity(pki.operatorCertPath, pki.operatorKeyPath) });
  try {
    await operator.createWorkOrder({ id: 'WO-BENCH', product: 'Bench', quota: 10 });
    const files: string[] = [];
    for (const serial of ['0123000000000001EE', '0123000000000002EE']) {
      const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
      const r = await station.issueUnit({ serial, publicKey: spki.subarray(-64).toString('hex'), workOrder: 'WO-BENCH' });
      files.push(join(dir, `${serial}.pem`));
      writeFileSync(files.at(-1)!, r.certificatePem);
    }
    await officer.raw('POST', '/v1/revocations', { serial: '0123000000000002EE', reason: 'keyCompromise' });
    return files;
  } finally {
    for (const c of [station, officer, operator]) c.close();
  }
}

/** openssl ocsp against `url`: each unit's answer must verify with the PKI and say good / revoked. */
async function checkWithOpenssl(url: string, units: string[], what: string): Promise<void> {
  phase = `openssl ocsp against ${what}`;
  for (const [i, want] of [[0, 'good'], [1, 'revoked']] as const) {
    const { stdout, stderr } = await run('openssl', ['ocsp', '-issuer', pki.issuingCertPath, '-cert', units[i]!, '-no_nonce', '-url', url,
      '-CAfile', pki.rootCertPath, '-verify_other', pki.issuingCertPath, '-timeout', '10'], { encoding: 'utf8', timeout: 20_000 });
    if (!stdout.includes(`: ${want}`) || !/Response verify OK/.test(stdout + stderr)) throw new Error(`${what}, unit ${i}: expected a verified '${want}', got ${stdout}${stderr}`);
  }
}

let requests: Buffer[] = [];
/** The two POST bodies (openssl's own encoding: SHA-1 CertID, no nonce) and their HTTP/1.1 framing for `host`. */
async function buildRequests(units: string[]): Promise<Buffer[]> {
  return Promise.all(units.map(async (f, i) => {
    const out = join(dir, `req-${i}.der`);
    await run('openssl', ['ocsp', '-issuer', pki.issuingCertPath, '-cert', f, '-no_nonce', '-reqout', out], { timeout: 20_000 });
    return readFileSync(out);
  }));
}
const framed = (body: Buffer, host: string) => Buffer.concat([Buffer.from(`POST /ocsp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/ocsp-request\r\nContent-Length: ${body.length}\r\n\r\n`), body]);

/**
 * One pipelined connection: keeps DEPTH requests in flight until `end`, then waits for the
 * answers still due. Counts complete 200 answers of the expected size; a connection the server
 * closes or resets, or that goes silent for 10 s, ends the run with an error instead of a hang.
 */
function load(target: URL, end: number): Promise<{ ok: number; bad: number }> {
  const framedReqs = requests.map((b) => framed(b, target.host));
  return new Promise((resolve, reject) => {
    const sock = connect(Number(target.port), target.hostname);
    sock.setNoDelay(true);
    sock.setTimeout(10_000, () => sock.destroy(new Error('no answer for 10 s')));
    let ok = 0, bad = 0, sent = 0, done = false;
    let buf: Buffer = Buffer.alloc(0);
    const send = () => sock.write(framedReqs[sent++ % framedReqs.length]!);
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      sock.destroy();
      if (err) reject(err); else resolve({ ok, bad });
    };
    sock.on('connect', () => { for (let i = 0; i < DEPTH; i++) send(); });
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) break;
        const head = buf.subarray(0, h).toString('latin1');
        const len = /content-length: (\d+)/i.exec(head)?.[1];
        if (len === undefined) return finish(new Error(`an answer without Content-Length: ${head}`));
        if (buf.length < h + 4 + Number(len)) break;
        if (head.startsWith('HTTP/1.1 200') && Number(len) > 200) ok++; else bad++;
        buf = buf.subarray(h + 4 + Number(len));
        if (performance.now() < end) send();
        else if (ok + bad === sent) return finish();
      }
    });
    sock.on('error', (err) => finish(err));
    sock.on('close', () => finish(new Error(`connection closed by the server after ${ok + bad} of ${sent} answers`)));
  });
}

/** Warm-up, then CONNECTIONS connections for SECONDS: answers/s. */
async function measure(target: URL, what: string): Promise<{ perSec: number; ok: number; bad: number; seconds: number }> {
  phase = `load ${what}`;
  await Promise.all(Array.from({ length: 4 }, () => load(target, performance.now() + 300)));
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: CONNECTIONS }, () => load(target, t0 + SECONDS * 1000)));
  const seconds = (performance.now() - t0) / 1000;
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const bad = results.reduce((n, r) => n + r.bad, 0);
  return { perSec: ok / seconds, ok, bad, seconds };
}

/** Keyline's own two DER answers, fetched once: cfssl serves these same bytes. */
async function fetchAnswers(target: URL): Promise<Buffer[]> {
  return Promise.all(requests.map((body) => new Promise<Buffer>((resolve, reject) => {
    const sock = connect(Number(target.port), target.hostname, () => sock.end(framed(body, target.host).toString('latin1').replace('HTTP/1.1', 'HTTP/1.0'), 'latin1'));
    const chunks: Buffer[] = [];
    sock.setTimeout(10_000, () => sock.destroy(new Error('no answer')));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('end', () => {
      const all = Buffer.concat(chunks);
      resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
    });
    sock.on('error', reject);
  })));
}

// 1. Keyline, 1 and 2 workers.
const ocsp: Record<number, { perSec: number; ok: number; bad: number; seconds: number; stopMs: number; stopKilled: boolean }> = {};
let units: string[] = [];
let answers: Buffer[] = [];
for (const n of WORKERS) {
  const server = await startKeyline(n);
  if (units.length === 0) {
    units = await issueUnits(server.apiUrl);
    requests = await buildRequests(units);
  }
  await checkWithOpenssl(`${server.publicUrl.origin}/ocsp`, units, `keyline --workers ${n}`);
  if (answers.length === 0) answers = await fetchAnswers(server.publicUrl);
  const r = await measure(server.publicUrl, `keyline --workers ${n}`);
  phase = `stop keyline server --workers ${n}`;
  const stop = await stopChild(server.child, AIM_STOP_MS);
  ocsp[n] = { ...r, stopMs: stop.ms, stopKilled: stop.killed };
  log(`keyline --workers ${n}: ${fmt(r.perSec)} responses/s (${fmt(r.ok)} in ${r.seconds.toFixed(2)} s, ${r.bad} bad); stopped by SIGTERM in ${fmt(stop.ms)} ms${stop.killed ? ' (had to be KILLED)' : ''}`);
}

// 2a. cfssl's pre-signed responder serving the same answers, measured by the same client.
let cfssl: { perSec: number; ok: number; bad: number } | { skipped: string };
if (o['no-cfssl']) {
  cfssl = { skipped: '--no-cfssl' };
} else {
  const which = await run('sh', ['-c', 'command -v cfssl'], { encoding: 'utf8' }).catch(() => null);
  if (!which) {
    cfssl = { skipped: 'cfssl not installed (apt-get install golang-cfssl)' };
  } else {
    phase = 'start cfssl ocspserve';
    const responses = join(dir, 'cfssl-responses.txt');
    writeFileSync(responses, answers.map((a) => a.toString('base64')).join('\n') + '\n');
    const port = await freePort();
    const child = spawn('cfssl', ['ocspserve', '-address', '127.0.0.1', '-port', String(port), '-responses', responses, '-loglevel', '5'], { stdio: 'ignore' });
    children.add(child);
    child.once('exit', () => children.delete(child));
    await waitListening(port);
    const url = new URL(`http://127.0.0.1:${port}/`);
    await checkWithOpenssl(url.href, units, 'cfssl ocspserve');
    cfssl = await measure(url, 'cfssl ocspserve');
    await stopChild(child);
    log(`cfssl ocspserve (same answers, same client): ${fmt(cfssl.perSec)} responses/s (${cfssl.bad} bad)`);
  }
}

// 2b. Raw C_Sign on the responder key (pkcs11js in this process, one session).
phase = 'raw SoftHSM C_Sign';
const responderLabel = /object=([^;]+)/.exec(pki.ocspResponderKeyRef)![1]!;
const signPerSec = await rawSoftHsmSignPerSec({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin, keyLabel: decodeURIComponent(responderLabel), seconds: 2 });
log(`raw SoftHSM C_Sign (responder key, 1 session): ${fmt(signPerSec)}/s`);

// 3. CRL of N entries.
phase = 'CRL from memory';
const ks = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin, sessions: 1 });
const issuer = crlIssuerOf(pki.issuingDer, await ks.getSigner(pki.issuingKeyRef));
const at = new Date();
const entries: CrlEntry[] = Array.from({ length: CRL_ENTRIES }, (_, i) => ({
  serialHex: (0x40n << 120n | BigInt(i) * 0x9e3779b97f4a7c15n).toString(16), revokedAt: new Date(at.getTime() - (i % 86400) * 1000),
  reason: (['keyCompromise', 'cessationOfOperation', 'superseded', 'unspecified'] as const)[i % 4]!,
}));
await issueCrl(issuer, { number: 1, thisUpdate: at, nextUpdate: new Date(at.getTime() + 86_400_000), entries: entries.slice(0, 1000) });
const c0 = performance.now();
const crl = await issueCrl(issuer, { number: 2, thisUpdate: at, nextUpdate: new Date(at.getTime() + 86_400_000), entries });
const crlMs = performance.now() - c0;
const crlFile = join(dir, 'bench.crl');
writeFileSync(crlFile, crl);
const chain = join(dir, 'chain.pem');
writeFileSync(chain, readFileSync(pki.rootCertPath, 'utf8') + readFileSync(pki.issuingCertPath, 'utf8'));
const check = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', chain, '-noout'], { encoding: 'utf8', timeout: 60_000 });
const verified = /verify OK/.test(check.stdout + check.stderr);
log(`CRL of ${fmt(CRL_ENTRIES)} entries from memory: ${fmt(crlMs)} ms build + HSM sign (${fmt(crl.length)} bytes, openssl ${verified ? 'verify OK' : 'FAILED to verify'})`);

interface PublisherFigures { store: string; publishMs: number; readMs: number; oldReadMs: number; opensslVerified: boolean }
/** The publisher path on one store: N revocations written, then read (old and new way) and published, timed. */
async function publisherOn(storeName: string, url: string, i: CrlIssuer): Promise<PublisherFigures> {
  phase = `CRL publisher on ${storeName}`;
  const store = await openStore(url);
  try {
    await store.transaction(async (tx) => {
      for (const e of entries) await tx.revocations.add({ certificateSerial: e.serialHex, kind: 'device', subject: null, reason: e.reason, revokedAt: e.revokedAt.toISOString(), revokedBy: 'bench' });
    });
    const r0 = performance.now();
    await store.transaction((tx) => tx.revocations.listSince(0).then((rs) => rs.map((r) => ({ serialHex: r.certificateSerial, revokedAt: new Date(r.revokedAt), reason: r.reason }))), { readOnly: true });
    const oldReadMs = performance.now() - r0;
    const r1 = performance.now();
    await store.transaction((tx) => tx.revocations.listForCrl().then((rs) => rs.map((r) => ({ serialHex: r.certificateSerial, revokedAt: new Date(r.revokedAt), reason: r.reason }))), { readOnly: true });
    const readMs = performance.now() - r1;
    const p0 = performance.now();
    const published = await new CrlPublisher({ store, issuer: i }).refresh();
    const publishMs = performance.now() - p0;
    const file = join(dir, `published-${storeName}.crl`);
    writeFileSync(file, published.der);
    const v = await run('openssl', ['crl', '-inform', 'DER', '-in', file, '-CAfile', chain, '-noout', '-text'], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
    const count = (v.stdout.match(/Serial Number:/g) ?? []).length;
    const ok = /verify OK/.test(v.stdout + v.stderr) && count === CRL_ENTRIES;
    log(`CRL publisher on ${storeName}: ${fmt(publishMs)} ms (read ${fmt(readMs)} ms as listForCrl, ${fmt(oldReadMs)} ms as listSince before issue 13; build, sign, store); openssl: ${ok ? `verify OK, ${fmt(count)} entries` : 'FAILED'}`);
    return { store: storeName, publishMs, readMs, oldReadMs, opensslVerified: ok };
  } finally {
    await store.close();
  }
}
const publishers: PublisherFigures[] = [await publisherOn('SQLite', `sqlite:${join(dir, 'crl-bench.db')}`, issuer)];
let postgresNote = '';
if (o['no-postgres']) postgresNote = '--no-postgres';
else if (!findPgBinDir()) postgresNote = 'PostgreSQL binaries not installed (scripts/setup installs them)';
else {
  phase = 'start a throw-away PostgreSQL cluster';
  const pg = await startTempPostgres();
  try {
    publishers.push(await publisherOn('PostgreSQL', await pg.createDatabase('bench_crl'), issuer));
  } finally {
    await pg.stop();
  }
}
if (postgresNote) log(`CRL publisher on PostgreSQL: skipped (${postgresNote})`);
await ks.close();

// Verdicts.
const two = ocsp[2];
const cfsslPerSec = 'perSec' in cfssl ? cfssl.perSec : undefined;
const checks = {
  ocspTwoWorkers: two ? two.perSec >= AIM_OCSP_2_WORKERS : undefined,
  noBadAnswers: Object.values(ocsp).every((r) => r.bad === 0) && (!('bad' in cfssl) || cfssl.bad === 0),
  stopWithin5s: Object.values(ocsp).every((r) => r.stopMs < AIM_STOP_MS && !r.stopKilled),
  crlUnder1s: publishers.every((p) => p.publishMs < AIM_CRL_MS),
  opensslVerified: verified && publishers.every((p) => p.opensslVerified),
};
const pass = Object.values(checks).every((v) => v !== false);
const report = {
  ocsp: Object.fromEntries(Object.entries(ocsp).map(([n, r]) => [`workers${n}`, { responsesPerSec: Math.round(r.perSec), ok: r.ok, bad: r.bad, seconds: Number(r.seconds.toFixed(2)), stopMs: Math.round(r.stopMs) }])),
  connections: CONNECTIONS, depth: DEPTH,
  cfssl: 'perSec' in cfssl ? { responsesPerSec: Math.round(cfssl.perSec), bad: cfssl.bad } : cfssl,
  softhsmSignPerSec: Math.round(signPerSec),
  ratios: Object.fromEntries(Object.entries(ocsp).flatMap(([n, r]) => [
    [`workers${n}ToSoftHsmSign`, Number((r.perSec / signPerSec).toFixed(2))],
    ...(cfsslPerSec ? [[`workers${n}ToCfssl`, Number((r.perSec / cfsslPerSec).toFixed(2))]] : []),
  ])),
  crl: {
    entries: CRL_ENTRIES, bytes: crl.length, buildAndSignMs: Math.round(crlMs),
    publisher: publishers.map((p) => ({ store: p.store, publishMs: Math.round(p.publishMs), readMs: Math.round(p.readMs), readBeforeIssue13Ms: Math.round(p.oldReadMs) })),
    ...(postgresNote ? { postgres: postgresNote } : {}),
  },
  checks, pass,
};
if (o.json) {
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
} else {
  const v = (b: boolean | undefined) => (b === undefined ? 'n/a' : b ? 'PASS' : 'FAIL');
  log('');
  for (const [n, r] of Object.entries(ocsp)) {
    log(`OCSP, ${n} worker(s): ${fmt(r.perSec)}/s = ${(r.perSec / signPerSec).toFixed(1)}x raw C_Sign${cfsslPerSec ? `, ${(r.perSec / cfsslPerSec).toFixed(1)}x cfssl ocspserve (${fmt(cfsslPerSec)}/s)` : ''}`);
  }
  log(`${v(checks.ocspTwoWorkers)}  OCSP with 2 workers >= ${fmt(AIM_OCSP_2_WORKERS)}/s`);
  log(`${v(checks.noBadAnswers)}  every answer the expected 200`);
  log(`${v(checks.stopWithin5s)}  SIGTERM stops every server (all workers) within ${AIM_STOP_MS / 1000} s`);
  log(`${v(checks.crlUnder1s)}  CRL of ${fmt(CRL_ENTRIES)} entries published (read + build + sign + store) < ${fmt(AIM_CRL_MS)} ms: ${publishers.map((p) => `${p.store} ${fmt(p.publishMs)} ms`).join(', ')}`);
  log(`${v(checks.opensslVerified)}  openssl verifies every CRL`);
  log(pass ? 'PASS' : 'FAIL');
}
if (!pass) process.exitCode = 1;
