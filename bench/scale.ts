/**
 * npm run bench:scale -- [--units N] [--devices D] [--stores sqlite,postgres] [--json]
 *
 * Scale-out figures side by side: device certificates/s (the stations' batch endpoint, batches
 * of 100, 8 in flight, as bench/issue.ts measures) and first enrollments/s (D devices at once
 * through Mosquitto, as bench/enroll.ts measures) with one `keyline server` replica and with two
 * behind the TCP balancer (scripts/tcp-balancer.ts), on SQLite (one shared file) and on
 * PostgreSQL (a throw-away cluster). Baselines from the same run: raw SoftHSM C_Sign/s on the
 * issuing key, and Mosquitto request/response round trips/s (an enrollment is two).
 *
 * On one machine both replicas share its cores (and SoftHSM is one library per process), so two
 * replicas show the cost of coordination through the database rather than a doubling.
 */
import 'reflect-metadata';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createBlankChip } from '../emulator/atecc608/factory.js';
import { saveChipImage } from '../emulator/atecc608/image.js';
import { chipFileName } from '../emulator/chip-dir.js';
import { connectDevice, enrollDevice, powerOn } from '../firmware-sim/boot.js';
import { trustFromFactoryConfig } from '../firmware-sim/firmware-trust.js';
import { initDevPki } from '../server/ceremony/init-dev.js';
import { startTempPostgres, type TempPostgres } from '../scripts/temp-postgres.js';
import { StationApiClient } from '../station/api-client.js';
import { CertChecker } from '../station/cert-check.js';
import { keylineProfile } from '../station/chip-steps.js';
import { InProcessChipSource } from '../station/chip-source.js';
import { Journal } from '../station/journal.js';
import { runLine } from '../station/line.js';
import { Progress } from '../station/progress.js';
import { startTcpBalancer } from '../scripts/tcp-balancer.js';
import { benchArgs, fmt, mqttRoundTripsPerSec, percentile, rawSoftHsmSignPerSec, runConcurrent, spawnKeyline, startMosquitto } from './lib.js';

const o = benchArgs('bench:scale', `npm run bench:scale -- [options]

Scale-out figures side by side, one keyline server replica and two behind the TCP balancer
(scripts/tcp-balancer.ts), on SQLite (one shared file) and on a throw-away PostgreSQL cluster:
device certificates/s (batches of 100, 8 in flight, as bench:issue) and first enrollments/s (D
devices at once through Mosquitto, as bench:enroll). Baselines from the same run: raw SoftHSM
C_Sign/s on the issuing key, and Mosquitto request/response round trips/s (an enrollment is two);
ratios to both are printed. No PASS/FAIL: on one machine two replicas share its cores, so the
figures show the cost of coordination through the database rather than a doubling.
Progress lines go to stderr. Run it alone: flock /tmp/keyline-bench.lock npm run bench:scale

  --units N          certificates per configuration (default 3000)
  --devices D        devices enrolled per configuration (default 200)
  --stores LIST      sqlite, postgres or both, comma-separated (default sqlite,postgres)
  --json             one JSON document instead of the table
  --help             this text
`, { units: { type: 'string' }, devices: { type: 'string' }, stores: { type: 'string' }, json: { type: 'boolean' } });
const UNITS = Number(o.units ?? 3000);
const DEVICES = Number(o.devices ?? 200);
const STORES = (o.stores ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;
for (const s of STORES) {
  if (s !== 'sqlite' && s !== 'postgres') {
    process.stderr.write(`bench:scale: --stores takes sqlite and/or postgres, got '${s}'\n`);
    process.exit(2);
  }
}
const PRODUCT = 'Bench Sensor';
const say = (s: string) => process.stderr.write(`bench:scale: ${s}\n`);

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-scale-'));
const children: ChildProcess[] = [];
let pgCluster: TempPostgres | undefined;
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

say(`${UNITS} certificates and ${DEVICES} devices per configuration; stores ${STORES.join(', ')}; in ${dir}`);
const pki = await initDevPki({ out: join(dir, 'pki') });
const rootPem = readFileSync(pki.rootCertPath, 'utf8');
const broker = await startMosquitto({ dir, serverCertPath: pki.serverCertPath, serverKeyPath: pki.serverKeyPath, rootCertPath: pki.rootCertPath, issuingCertPath: pki.issuingCertPath });
const baseConfig = JSON.parse(readFileSync(pki.configPath, 'utf8'));

say('baseline: raw SoftHSM C_Sign on the issuing key (2 s) ...');
const rawSign = await rawSoftHsmSignPerSec({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin: readFileSync(pki.linePinPath, 'utf8').trim(), keyLabel: 'issuing-ca', seconds: 2 });
say(`baseline: Mosquitto request/response, ${DEVICES} clients ...`);
const rt = await mqttRoundTripsPerSec(broker.url, rootPem, DEVICES, 8);

// The same keys in every configuration: each one has a fresh database.
const keys = Array.from({ length: UNITS + 100 }, () => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 64).toString('hex');
});
const serials = keys.map(() => ('0123' + randomBytes(6).toString('hex') + 'EE').toUpperCase());

/** One configuration: a fresh database, `replicas` servers behind the balancer; certificates/s and enrollments/s. */
async function measure(store: 'sqlite' | 'postgres', replicas: number): Promise<{ certsPerSec: number; batchP50: number; enrollPerSec: number; enrollP99: number }> {
  const tag = `${store}-${replicas}`;
  const url = store === 'sqlite' ? `sqlite:${join(dir, `${tag}.db`)}` : await pgCluster!.createDatabase(`bench_${replicas}`);
  // Next to the dev keyline.json: its relative paths (tokens, certificates) stay valid.
  const configPath = join(pki.outDir, `keyline-${tag}.json`);
  writeFileSync(configPath, JSON.stringify({ ...baseConfig, store: { url }, log: { level: 'warn' }, enroll: { ...baseConfig.enroll, broker: broker.url, protocolVersion: 5, rateLimitPerMinute: 1000 } }, null, 2));
  const env = { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' };
  // One at a time: the first replica creates the schema.
  const ports: number[] = [];
  for (let i = 0; i < replicas; i++) {
    const { child, match } = await spawnKeyline(['server', '--config', configPath], /^api (\S+)$/m, env);
    children.push(child);
    ports.push(Number(new URL(match[1]!).port));
  }
  const lb = await startTcpBalancer({ backends: ports.map((port) => ({ host: '127.0.0.1', port })) });
  const api = new StationApiClient({ baseUrl: `https://127.0.0.1:${lb.port}`, cert: readFileSync(pki.stationCertPath, 'utf8'), key: readFileSync(pki.stationKeyPath, 'utf8'), ca: rootPem, maxSockets: 8 });
  try {
    const operator = new StationApiClient({ baseUrl: `https://127.0.0.1:${lb.port}`, cert: readFileSync(pki.operatorCertPath, 'utf8'), key: readFileSync(pki.operatorKeyPath, 'utf8'), ca: rootPem });
    await operator.createWorkOrder({ id: 'BENCH', product: PRODUCT, quota: UNITS + 100 });
    await operator.createWorkOrder({ id: 'BENCH-ENROLL', product: PRODUCT, quota: DEVICES });
    operator.close();
    let k = 0;
    const batch = () => api.issueBatch(Array.from({ length: 100 }, () => ({ serial: serials[k]!, publicKey: keys[k++]!, workOrder: 'BENCH' })));
    await batch(); // warm-up: TLS sessions to both replicas, prepared statements
    const b = await runConcurrent(Math.floor(UNITS / 100), 8, async () => {
      const r = await batch();
      if (r.results.some((x) => !x.ok)) throw new Error(`${tag}: a batch refused a unit`);
    });
    const certsPerSec = (Math.floor(UNITS / 100) * 100) / b.seconds;
    say(`${tag}: ${fmt(certsPerSec)} certificates/s`);

    // Chips for the devices: the station's line code in this process, through the balancer.
    const chips = Array.from({ length: DEVICES }, () => createBlankChip());
    const journal = new Journal(join(dir, `journal-${tag}.db`));
    const line = await runLine(
      { api, journal, checker: new CertChecker(rootPem), profile: keylineProfile(), source: new InProcessChipSource(chips), progress: new Progress({ target: DEVICES, alreadyGood: 0, out: { write: () => true }, err: { write: () => true } }) },
      { workOrder: 'BENCH-ENROLL', station: 'station-01', target: DEVICES, parallel: 8 },
    );
    journal.close();
    if (line.good !== DEVICES) throw new Error(`${tag}: provisioning made ${line.good}/${DEVICES} units (${line.stopReason})`);
    const chipDir = join(dir, `chips-${tag}`);
    mkdirSync(chipDir);
    const trust = trustFromFactoryConfig(configPath, PRODUCT);
    const devices = await Promise.all(chips.map(async (c) => {
      const chipFile = join(chipDir, chipFileName(c));
      await saveChipImage(c, chipFile);
      return powerOn({ chipFile, firstBootTrust: () => trust });
    }));
    const links: Awaited<ReturnType<typeof connectDevice>>[] = [];
    for (let i = 0; i < devices.length; i += 64) links.push(...(await Promise.all(devices.slice(i, i + 64).map((d) => connectDevice(d, { brokerUrl: broker.url, protocolVersion: 5 })))));
    const lat: number[] = [];
    const t0 = performance.now();
    await Promise.all(devices.map(async (d, i) => {
      const s = performance.now();
      await enrollDevice(d, links[i]!);
      lat.push(performance.now() - s);
    }));
    const enrollPerSec = DEVICES / ((performance.now() - t0) / 1000);
    say(`${tag}: ${fmt(enrollPerSec)} enrollments/s`);
    await Promise.all(links.map((l) => l.close()));
    await Promise.all(devices.map((d) => d.dev.close()));
    return { certsPerSec, batchP50: percentile(b.latencies, 50), enrollPerSec, enrollP99: percentile(lat, 99) };
  } finally {
    api.close();
    await lb.close();
    for (const c of children.splice(0)) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await gone;
    }
  }
}

const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
for (const store of STORES) {
  if (store === 'postgres') pgCluster = await startTempPostgres();
  for (const replicas of [1, 2]) results[`${store}-${replicas}`] = await measure(store, replicas);
  await pgCluster?.stop();
  pgCluster = undefined;
}
await broker.stop();

if (o.json) {
  const ratios = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, {
    certsToRawSign: Number((r.certsPerSec / rawSign).toFixed(2)), enrollToHalfBrokerRoundTrips: Number((r.enrollPerSec / (rt.rtPerSec / 2)).toFixed(2)),
  }]));
  process.stdout.write(JSON.stringify({ units: UNITS, devices: DEVICES, baseline: { softhsmRawSignPerSec: Math.round(rawSign), mosquittoRoundTripsPerSec: Math.round(rt.rtPerSec) }, results, ratios }, null, 2) + '\n');
} else {
  const cols = STORES.flatMap((s) => [1, 2].map((r) => `${s} × ${r}`));
  const row = (label: string, f: (k: string) => string) => `${label.padEnd(30)}${STORES.flatMap((s) => [1, 2].map((r) => f(`${s}-${r}`).padStart(16))).join('')}`;
  const w = (s: string) => process.stdout.write(s + '\n');
  w('');
  w(`${'replicas'.padEnd(30)}${cols.map((c) => c.padStart(16)).join('')}`);
  w(row('certificates/s (batch of 100)', (k) => fmt(results[k]!.certsPerSec)));
  w(row('  ÷ raw SoftHSM C_Sign/s', (k) => (results[k]!.certsPerSec / rawSign).toFixed(2)));
  w(row('  batch p50 ms', (k) => fmt(results[k]!.batchP50, 1)));
  w(row('first enrollments/s', (k) => fmt(results[k]!.enrollPerSec)));
  w(row('  ÷ (Mosquitto RT/s ÷ 2)', (k) => (results[k]!.enrollPerSec / (rt.rtPerSec / 2)).toFixed(2)));
  w(row('  enrollment p99 ms', (k) => fmt(results[k]!.enrollP99)));
  w('');
  w(`baseline  raw SoftHSM C_Sign (1 session)         ${fmt(rawSign)} sign/s`);
  w(`baseline  Mosquitto request/response (${DEVICES} clients) ${fmt(rt.rtPerSec)} round trips/s (p50 ${fmt(rt.p50, 1)} ms)`);
}
process.exit(0);
