/**
 * npm run bench:ocsp -- [--seconds S] [--connections C] [--depth D] [--workers W] [--crl-entries N] [--json]
 *
 * 1. OCSP responses/s over HTTP: `keyline server` in a child process, C keep-alive connections
 *    each with D pipelined POST requests in flight (a raw-socket client, so the load generator
 *    is not the bottleneck), alternating pre-built requests (no nonce) for a good and a revoked
 *    unit. Every response is checked to be the 200 answer for its request.
 * 2. Raw SoftHSM C_Sign/s on the responder key in the same run, and the ratio to (1).
 * 3. CRL generation for N (100,000) revoked entries: build + HSM signature from memory, and the
 *    whole publisher path (read N rows from SQLite, build, sign, store).
 * cfssl's pre-signed responder served ~3,700 responses/s on this machine (reference only).
 */
import 'reflect-metadata';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { StationApiClient } from '../station/api-client.js';
import { initDevPki } from '../server/ceremony/init-dev.js';
import { Pkcs11KeyStore } from '../server/hsm/pkcs11-key-store.js';
import { crlIssuerOf, issueCrl, type CrlEntry } from '../server/ca/crl.js';
import { CrlPublisher } from '../server/services/crl-publisher.js';
import { SqliteStore } from '../server/store/sqlite/sqlite-store.js';
import { fmt, spawnKeyline } from './lib.js';

const { values: o } = parseArgs({ options: {
  seconds: { type: 'string' }, connections: { type: 'string' }, depth: { type: 'string' }, workers: { type: 'string' },
  'crl-entries': { type: 'string' }, json: { type: 'boolean' },
} });
const SECONDS = Number(o.seconds ?? 5);
const CONNECTIONS = Number(o.connections ?? 32);
const DEPTH = Number(o.depth ?? 8);
const WORKERS = Number(o.workers ?? 2);
const CRL_ENTRIES = Number(o['crl-entries'] ?? 100_000);
const CFSSL = 3700;
const log = (s: string) => !o.json && process.stdout.write(s + '\n');

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-ocsp-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
log(`bench:ocsp — ${SECONDS} s, ${CONNECTIONS} connections x ${DEPTH} pipelined, ${WORKERS} server worker(s); CRL of ${fmt(CRL_ENTRIES)} entries`);
const pki = await initDevPki({ out: dir });
const pin = readFileSync(pki.linePinPath, 'utf8').trim();

const { child: server, match } = await spawnKeyline(['server', '--config', pki.configPath, '--workers', String(WORKERS)], /^public (\S+)$/m, {
  KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn', KEYLINE_ENROLL_PORT: '0',
});
process.on('exit', () => server.kill('SIGKILL'));
const apiUrl = /^api (\S+)$/m.exec(match.input ?? '')?.[1];
const publicUrl = new URL(match[1]!);

// Two units, one revoked by the security officer.
const identity = (cert: string, key: string) => ({ cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), ca: readFileSync(pki.rootCertPath, 'utf8') });
const station = new StationApiClient({ baseUrl: apiUrl!, ...identity(pki.stationCertPath, pki.stationKeyPath) });
const officer = new StationApiClient({ baseUrl: apiUrl!, ...identity(pki.officerCertPath, pki.officerKeyPath) });
const operator = new StationApiClient({ baseUrl: apiUrl!, ...identity(pki.operatorCertPath, pki.operatorKeyPath) });
await operator.createWorkOrder({ id: 'WO-BENCH', product: 'Bench', quota: 10 });
operator.close();
const unitFiles: string[] = [];
for (const serial of ['0123000000000001EE', '0123000000000002EE']) {
  const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  const r = await station.issueUnit({ serial, publicKey: spki.subarray(-64).toString('hex'), workOrder: 'WO-BENCH' });
  unitFiles.push(join(dir, `${serial}.pem`));
  writeFileSync(unitFiles.at(-1)!, r.certificatePem);
}
await officer.raw('POST', '/v1/revocations', { serial: '0123000000000002EE', reason: 'keyCompromise' });
station.close();
officer.close();

// Pre-built requests (openssl's own encoding, SHA-1 CertID, no nonce), as HTTP/1.1 POSTs.
const requests = unitFiles.map((f, i) => {
  const out = join(dir, `req-${i}.der`);
  execFileSync('openssl', ['ocsp', '-issuer', pki.issuingCertPath, '-cert', f, '-no_nonce', '-reqout', out]);
  const body = readFileSync(out);
  return Buffer.concat([Buffer.from(`POST /ocsp HTTP/1.1\r\nHost: ${publicUrl.host}\r\nContent-Type: application/ocsp-request\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
});
// Check both answers once with openssl before timing anything.
for (const [i, want] of [[0, 'good'], [1, 'revoked']] as const) {
  const text = execFileSync('openssl', ['ocsp', '-issuer', pki.issuingCertPath, '-cert', unitFiles[i]!, '-no_nonce', '-url', `${publicUrl.origin}/ocsp`,
    '-CAfile', pki.rootCertPath, '-verify_other', pki.issuingCertPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (!text.includes(`: ${want}`)) throw new Error(`unit ${i}: expected ${want}, got ${text}`);
}

/** One pipelined connection: keeps DEPTH requests in flight until `end`; counts complete 200 answers. */
function load(end: number): Promise<{ ok: number; bad: number }> {
  return new Promise((resolve, reject) => {
    const sock = connect(Number(publicUrl.port), publicUrl.hostname);
    sock.setNoDelay(true);
    let ok = 0, bad = 0, sent = 0;
    let buf: Buffer = Buffer.alloc(0);
    const send = () => sock.write(requests[sent++ % 2]!);
    sock.on('connect', () => { for (let i = 0; i < DEPTH; i++) send(); });
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) break;
        const head = buf.subarray(0, h).toString('latin1');
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < h + 4 + len) break;
        if (head.startsWith('HTTP/1.1 200') && len > 200) ok++; else bad++;
        buf = buf.subarray(h + 4 + len);
        if (performance.now() < end) send();
        else if (ok + bad === sent) { sock.end(); resolve({ ok, bad }); return; }
      }
    });
    sock.on('error', reject);
  });
}

// Warm-up (fills the cache), then the timed run.
await Promise.all(Array.from({ length: 4 }, () => load(performance.now() + 300)));
const t0 = performance.now();
const results = await Promise.all(Array.from({ length: CONNECTIONS }, () => load(t0 + SECONDS * 1000)));
const elapsed = (performance.now() - t0) / 1000;
const ok = results.reduce((n, r) => n + r.ok, 0);
const bad = results.reduce((n, r) => n + r.bad, 0);
const ocspPerSec = ok / elapsed;
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));

// Raw C_Sign on the responder key through the same key store (one session).
const ks = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin, sessions: 1 });
const responder = await ks.getSigner(pki.ocspResponderKeyRef);
const digest = Buffer.alloc(32, 7);
let signs = 0;
const s0 = performance.now();
while (performance.now() - s0 < 2000) { await responder.signDigest(digest); signs++; }
const signPerSec = signs / ((performance.now() - s0) / 1000);

// CRL of N entries: from memory (build + sign), then the publisher path through SQLite.
const issuing = await ks.getSigner(pki.issuingKeyRef);
const issuer = crlIssuerOf(pki.issuingDer, issuing);
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
const check = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', chain, '-noout'], { encoding: 'utf8' });
const verified = /verify OK/.test(check.stdout + check.stderr);

const store = new SqliteStore(join(dir, 'keyline.db'));
await store.transaction(async (tx) => {
  for (const e of entries) await tx.revocations.add({ certificateSerial: e.serialHex, kind: 'device', subject: null, reason: e.reason, revokedAt: e.revokedAt.toISOString(), revokedBy: 'bench' });
});
const p0 = performance.now();
const published = await new CrlPublisher({ store, issuer }).refresh();
const publishMs = performance.now() - p0;
await store.close();
await ks.close();

const report = {
  ocsp: { responsesPerSec: Math.round(ocspPerSec), ok, bad, seconds: Number(elapsed.toFixed(2)), connections: CONNECTIONS, depth: DEPTH, workers: WORKERS },
  softhsmSignPerSec: Math.round(signPerSec),
  ratioToSoftHsmSign: Number((ocspPerSec / signPerSec).toFixed(2)),
  cfsslReferencePerSec: CFSSL,
  ratioToCfssl: Number((ocspPerSec / CFSSL).toFixed(2)),
  crl: { entries: CRL_ENTRIES, bytes: crl.length, buildAndSignMs: Math.round(crlMs), publisherWithSqliteMs: Math.round(publishMs), crlNumber: published.number, opensslVerified: verified },
};
if (o.json) {
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
} else {
  log(`OCSP responses/s:          ${fmt(ocspPerSec)} (${fmt(ok)} answers in ${elapsed.toFixed(2)} s, ${bad} bad; good + revoked, no nonce)`);
  log(`  floor 5,000/s, aim 20,000/s; cfssl pre-signed reference ${fmt(CFSSL)}/s -> ${(ocspPerSec / CFSSL).toFixed(1)}x`);
  log(`SoftHSM C_Sign/s (raw):    ${fmt(signPerSec)} -> OCSP is ${(ocspPerSec / signPerSec).toFixed(1)}x the HSM's signing rate`);
  log(`CRL, ${fmt(CRL_ENTRIES)} entries:      ${fmt(crlMs)} ms build + HSM sign (${fmt(crl.length)} bytes); ${fmt(publishMs)} ms with SQLite read + store (aim < 1,000 ms)`);
}
if (bad > 0 || ocspPerSec < 5000 || !verified) process.exitCode = 1;
