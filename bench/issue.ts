/**
 * npm run bench:issue -- [--units N] [--concurrency K] [--workers W] [--json]
 *
 * Device certificates issued end to end through the station API (HTTPS + mTLS, SoftHSM signing,
 * SQLite WAL, duplicate checks, audit chain), against baselines measured in the same run: raw
 * SoftHSM C_Sign/s through pkcs11js on the same key, and `openssl speed ecdsap256` sign/s.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pkcs11js from 'pkcs11js';
import { StationApiClient } from '../station/api-client.js';
import { detectSoftHsmModule } from '../server/hsm/pkcs11-module.js';
import { fmt, opensslEcdsaP256SignPerSec, percentile, runConcurrent, spawnKeyline } from './lib.js';

const { values: o } = parseArgs({ options: { units: { type: 'string' }, concurrency: { type: 'string' }, workers: { type: 'string' }, json: { type: 'boolean' } } });
const UNITS = Number(o.units ?? 20000);
const K = Number(o.concurrency ?? 64);
const WORKERS = Number(o.workers ?? 1);
const log = (s: string) => !o.json && process.stdout.write(s + '\n');

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
log(`bench:issue — ${UNITS} certificates, ${K} concurrent clients, ${WORKERS} server worker(s)`);
log('building a throw-away dev PKI (SoftHSM tokens) ...');
const { child: ceremony } = await spawnKeyline(['ceremony', 'init', '--dev', '--out', dir], /done/);
await new Promise((r) => ceremony.once('exit', r));

// Baseline 1: raw C_Sign on the issuing key, one session, through pkcs11js (no Keyline code).
function rawSoftHsmSignPerSec(seconds: number): number {
  process.env.SOFTHSM2_CONF = join(dir, 'tokens', 'softhsm2.conf');
  const p11 = new pkcs11js.PKCS11();
  p11.load(detectSoftHsmModule());
  p11.C_Initialize();
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === 'keyline-line')!;
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_Login(session, pkcs11js.CKU_USER, readFileSync(join(dir, 'tokens', 'line.pin'), 'utf8').trim());
    p11.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: 'issuing-ca' }]);
    const [key] = p11.C_FindObjects(session, 1);
    p11.C_FindObjectsFinal(session);
    const digest = createHash('sha256').update('bench').digest();
    const out = Buffer.alloc(64);
    let n = 0;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) {
        p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key!);
        p11.C_Sign(session, digest, out);
      }
      n += 100;
    }
    p11.C_Logout(session);
    p11.C_CloseSession(session);
    return n / seconds;
  } finally {
    p11.C_Finalize();
  }
}
log('baseline: raw SoftHSM C_Sign (pkcs11js, 1 session) ...');
const rawSign = rawSoftHsmSignPerSec(2);
log('baseline: openssl speed ecdsap256 ...');
const opensslSign = opensslEcdsaP256SignPerSec(2);

log('pre-generating device keys ...');
const keys = Array.from({ length: UNITS + Math.min(UNITS, 6000) + 300 }, () => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 64).toString('hex');
});
const serial = () => ('0123' + randomBytes(6).toString('hex') + 'EE').toUpperCase();

log('starting the server ...');
const { child: server, match } = await spawnKeyline(['server', '--config', join(dir, 'keyline.json'), '--workers', String(WORKERS)], /^api (\S+)$/m, {
  KEYLINE_SERVER_PORT: '0',
  KEYLINE_SERVER_PUBLIC_PORT: '0',
  KEYLINE_LOG_LEVEL: 'warn',
});
process.on('exit', () => server.kill('SIGKILL'));
const api = new StationApiClient({
  baseUrl: match[1]!,
  cert: readFileSync(join(dir, 'station-01.pem'), 'utf8'),
  key: readFileSync(join(dir, 'station-01.key.pem'), 'utf8'),
  ca: readFileSync(join(dir, 'root-ca.pem'), 'utf8'),
  maxSockets: K,
});
const operator = new StationApiClient({
  baseUrl: match[1]!,
  cert: readFileSync(join(dir, 'operator-01.pem'), 'utf8'),
  key: readFileSync(join(dir, 'operator-01.key.pem'), 'utf8'),
  ca: readFileSync(join(dir, 'root-ca.pem'), 'utf8'),
});
await operator.createWorkOrder({ id: 'BENCH', product: 'Bench', quota: UNITS * 3 });
operator.close();
let k = 0;

// One at a time: the latency a single station sees.
const single = await runConcurrent(300, 1, async () => void (await api.issueUnit({ serial: serial(), publicKey: keys[k++]!, workOrder: 'BENCH' })));
// K concurrent single-unit requests.
const nConc = Math.min(UNITS, 6000);
const conc = await runConcurrent(nConc, K, async () => void (await api.issueUnit({ serial: serial(), publicKey: keys[k++]!, workOrder: 'BENCH' })));
// Batches of 100 (fresh keys: a reused key would be refused as DUPLICATE_KEY).
const batches = Math.ceil(UNITS / 100);
const batchStart = performance.now();
const batch = await runConcurrent(batches, Math.max(2, Math.min(8, K)), async () => {
  const units = Array.from({ length: 100 }, () => ({ serial: serial(), publicKey: keys[k++]!, workOrder: 'BENCH' }));
  const r = await api.issueBatch(units).catch((err) => {
    process.stderr.write(`batch failed at ${((performance.now() - batchStart) / 1000).toFixed(2)} s after the batch phase began\n`);
    throw err;
  });
  const bad = r.results.find((x) => !x.ok);
  if (bad && !bad.ok) throw new Error(`batch refused a unit: ${bad.error.code}`);
});
api.close();

const result = {
  units: UNITS,
  concurrency: K,
  workers: WORKERS,
  baseline: { softhsmRawSignPerSec: Math.round(rawSign), opensslEcdsaP256SignPerSec: Math.round(opensslSign) },
  oneAtATime: { certsPerSec: Math.round(300 / single.seconds), p50ms: percentile(single.latencies, 50), p99ms: percentile(single.latencies, 99) },
  concurrent: { certsPerSec: Math.round(nConc / conc.seconds), p50ms: percentile(conc.latencies, 50), p99ms: percentile(conc.latencies, 99) },
  batch100: { certsPerSec: Math.round((batches * 100) / batch.seconds), p50ms: percentile(batch.latencies, 50), p99ms: percentile(batch.latencies, 99) },
};
const best = Math.max(result.concurrent.certsPerSec, result.batch100.certsPerSec);
const ratios = { vsRawSoftHsm: best / rawSign, vsOpenssl: best / opensslSign };
if (o.json) {
  process.stdout.write(JSON.stringify({ ...result, ratios }, null, 2) + '\n');
} else {
  log('');
  log(`baseline  raw SoftHSM C_Sign          ${fmt(rawSign)} sign/s`);
  log(`baseline  openssl speed ecdsap256     ${fmt(opensslSign)} sign/s`);
  log(`keyline   one at a time               ${fmt(result.oneAtATime.certsPerSec)} certs/s   p50 ${fmt(result.oneAtATime.p50ms, 2)} ms  p99 ${fmt(result.oneAtATime.p99ms, 2)} ms`);
  log(`keyline   ${K} concurrent (single)     ${fmt(result.concurrent.certsPerSec)} certs/s   p50 ${fmt(result.concurrent.p50ms, 2)} ms  p99 ${fmt(result.concurrent.p99ms, 2)} ms`);
  log(`keyline   batches of 100              ${fmt(result.batch100.certsPerSec)} certs/s   p50 ${fmt(result.batch100.p50ms, 1)} ms/batch  p99 ${fmt(result.batch100.p99ms, 1)} ms/batch`);
  log(`ratio     best / raw SoftHSM C_Sign   ${ratios.vsRawSoftHsm.toFixed(2)}`);
  log(`ratio     best / openssl sign         ${ratios.vsOpenssl.toFixed(2)}`);
}
server.kill('SIGTERM');
process.exit(0);
