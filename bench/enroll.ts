/**
 * `npm run bench:enroll -- [--devices N] [--rounds R] [--workers W]`: field enrollment against
 * Mosquitto, each part in its own process: Mosquitto (TLS, started here on a free port),
 * `keyline server` as a child using it as its external broker (SoftHSM, SQLite), and N simulated
 * devices in this process, each with its own TLS connection and its own emulated chip.
 *
 * Chips: N blank emulated chips are provisioned in this process by the station's own line code
 * (runLine over the in-process transport) against the server child's HTTPS API, then saved as
 * chip images; each device then boots from its image as `keyline device boot` would.
 *
 * Measured: round 1 = N first enrollments all at once (hello → challenge → chip counter + sign →
 * proof → enrolled, config verified and stored), rounds 2..R = the same devices re-authenticating;
 * connections are opened before the clock starts. Baseline in the same run: N MQTT 5 clients on
 * the same Mosquitto doing request/response round trips through a trivial echo responder
 * (TCP_NODELAY on every socket). An enrollment is two round trips, so the ceiling is RT/s ÷ 2.
 * Floor: 300 enrollments/s.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBlankChip } from '../emulator/atecc608/factory.js';
import { saveChipImage } from '../emulator/atecc608/image.js';
import { chipFileName } from '../emulator/chip-dir.js';
import { initDevPki } from '../server/ceremony/init-dev.js';
import { StationApiClient } from '../station/api-client.js';
import { CertChecker } from '../station/cert-check.js';
import { keylineProfile } from '../station/chip-steps.js';
import { InProcessChipSource } from '../station/chip-source.js';
import { Journal } from '../station/journal.js';
import { runLine } from '../station/line.js';
import { Progress } from '../station/progress.js';
import { connectDevice, enrollDevice, powerOn, type PoweredDevice } from '../firmware-sim/boot.js';
import type { EnrollClient } from '../firmware-sim/enroll-client.js';
import { trustFromFactoryConfig } from '../firmware-sim/firmware-trust.js';
import { fmt, mqttRoundTripsPerSec, percentile, startMosquitto } from './lib.js';

const { values } = parseArgs({ options: { devices: { type: 'string' }, rounds: { type: 'string' }, workers: { type: 'string' }, qos: { type: 'string' }, keep: { type: 'boolean' } } });
const DEVICES = Number(values.devices ?? 256);
const ROUNDS = Number(values.rounds ?? 3);
// Two workers (MQTT 5 shared subscriptions split the requests) use both cores, as a factory would.
const WORKERS = Number(values.workers ?? 2);
/** QoS of the devices' requests and answer subscription (1, the default path; 0 to compare). */
const QOS = values.qos === '0' ? 0 : 1;
const FLOOR = 300;
const PRODUCT = 'Bench Sensor';
const out = (s: string) => process.stdout.write(s + '\n');

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-enroll-'));
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) c.kill('SIGTERM');
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

/**
 * Starts `keyline server` as a child and resolves with its API URL. ENROLL_PROF=DIR: a CPU
 * profile of the server (single worker) written to DIR at exit, to see where its time goes.
 */
function startServer(): Promise<string> {
  const nodeArgs = process.env.ENROLL_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ENROLL_PROF}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, 'bin/keyline.js', 'server', '--config', pki.configPath, '--workers', String(WORKERS)], {
    env: { ...process.env, KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let so = '';
    let se = '';
    child.stdout!.on('data', (d: Buffer) => {
      so += d.toString();
      const m = so.match(/^api (\S+)$/m);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => (se += d.toString()));
    child.on('exit', (code, sig) => sig !== 'SIGTERM' && reject(new Error(`keyline server exited ${code}: ${se.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`keyline server printed no api line in 60 s: ${se.slice(-2000)}`)), 60_000).unref();
  });
}

out(`bench:enroll: ${DEVICES} devices, ${ROUNDS} rounds, server workers ${WORKERS}, device QoS ${QOS}, in ${dir}`);
const pki = await initDevPki({ out: join(dir, 'pki') });
const broker = await startMosquitto({ dir, ...pki });
const brokerUrl = broker.url;
const rootPem = readFileSync(pki.rootCertPath, 'utf8');
const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
cfg.enroll = { ...(cfg.enroll ?? {}), broker: brokerUrl, protocolVersion: 5, rateLimitPerMinute: 1000 };
writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
out(`mosquitto ${brokerUrl} (TLS); starting keyline server with it as the external broker`);
const apiUrl = await startServer();

// Provisioning: the station's line code in this process, chips in-process, the real server API.
const api = new StationApiClient({ baseUrl: apiUrl, cert: readFileSync(pki.stationCertPath, 'utf8'), key: readFileSync(pki.stationKeyPath, 'utf8'), ca: rootPem, maxSockets: 8 });
const operator = new StationApiClient({ baseUrl: apiUrl, cert: readFileSync(pki.operatorCertPath, 'utf8'), key: readFileSync(pki.operatorKeyPath, 'utf8'), ca: rootPem });
await operator.createWorkOrder({ id: 'BENCH-ENROLL', product: PRODUCT, quota: DEVICES });
operator.close();
const chips = Array.from({ length: DEVICES }, () => createBlankChip());
const journal = new Journal(join(dir, 'journal.db'));
const tProv = performance.now();
const line = await runLine(
  { api, journal, checker: new CertChecker(rootPem), profile: keylineProfile(), source: new InProcessChipSource(chips), progress: new Progress({ target: DEVICES, alreadyGood: 0, out: { write: () => true }, err: { write: () => true } }) },
  { workOrder: 'BENCH-ENROLL', station: 'station-01', target: DEVICES, parallel: 8 },
);
journal.close();
api.close();
if (line.good !== DEVICES) throw new Error(`provisioning made ${line.good}/${DEVICES} good units (${line.stopReason})`);
const chipDir = join(dir, 'chips');
mkdirSync(chipDir);
const files = await Promise.all(chips.map(async (c) => {
  const f = join(chipDir, chipFileName(c));
  await saveChipImage(c, f);
  return f;
}));
out(`provisioned ${DEVICES} chips through the station line in ${((performance.now() - tProv) / 1000).toFixed(1)} s`);

// Devices: power on (identity rebuilt and verified), connect, then enroll all at once per round.
const trust = trustFromFactoryConfig(pki.configPath, PRODUCT);
const devices: PoweredDevice[] = await Promise.all(files.map((chipFile) => powerOn({ chipFile, firstBootTrust: () => trust })));
const tConn = performance.now();
const links: EnrollClient[] = [];
for (let i = 0; i < devices.length; i += 64) links.push(...(await Promise.all(devices.slice(i, i + 64).map((d) => connectDevice(d, { brokerUrl, protocolVersion: 5, qos: QOS })))));
out(`connected ${links.length} devices (TLS, MQTT ${links[0]?.protocolVersion === 5 ? '5' : '3.1.1'}) in ${((performance.now() - tConn) / 1000).toFixed(1)} s`);

// Where a device's enrollment time goes: the two request/response waits (broker + server) and the rest (this process).
const waits = { hello: [] as number[], proof: [] as number[] };
for (const l of links) {
  const request = l.request.bind(l);
  l.request = async (m) => {
    const s = performance.now();
    try {
      return await request(m);
    } finally {
      (m.type === 'hello' ? waits.hello : waits.proof).push(performance.now() - s);
    }
  };
}

const rounds: Array<{ perSec: number; p50: number; p99: number; outcome: string }> = [];
for (let r = 0; r < ROUNDS; r++) {
  waits.hello.length = 0;
  waits.proof.length = 0;
  const lat: number[] = [];
  let reenrolled = 0;
  const t0 = performance.now();
  await Promise.all(devices.map(async (d, i) => {
    const s = performance.now();
    const { msg } = await enrollDevice(d, links[i]!);
    if (msg.reenrolled) reenrolled++;
    lat.push(performance.now() - s);
  }));
  const seconds = (performance.now() - t0) / 1000;
  const row = { perSec: DEVICES / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), outcome: reenrolled === 0 ? 'first enrollment' : reenrolled === DEVICES ? 're-authentication' : `${reenrolled} re-auth` };
  rounds.push(row);
  out(`round ${r + 1} (${row.outcome}): ${fmt(row.perSec)} enrollments/s, p50 ${fmt(row.p50, 1)} ms, p99 ${fmt(row.p99, 1)} ms; waits p50: hello→challenge ${fmt(percentile(waits.hello, 50), 1)} ms, proof→enrolled ${fmt(percentile(waits.proof, 50), 1)} ms`);
}
await Promise.all(links.map((l) => l.close()));
await Promise.all(devices.map((d) => d.dev.close()));

const base = await mqttRoundTripsPerSec(brokerUrl, rootPem, DEVICES, 4 * 2);
out(`baseline: Mosquitto request/response with ${DEVICES} clients: ${fmt(base.rtPerSec)} round trips/s, p50 ${fmt(base.p50, 1)} ms, p99 ${fmt(base.p99, 1)} ms`);
const first = rounds[0]!.perSec;
const best = Math.max(...rounds.map((r) => r.perSec));
out(`ratio: first enrollments ${fmt(first)}/s = ${((first / base.rtPerSec) * 100).toFixed(1)} % of the broker's round trips/s (an enrollment is 2 round trips: ${((2 * first / base.rtPerSec) * 100).toFixed(1)} % of the ceiling)`);
out(`ratio: best round ${fmt(best)}/s = ${((2 * best / base.rtPerSec) * 100).toFixed(1)} % of the ceiling`);
out(`floor ${FLOOR} enrollments/s: ${first >= FLOOR ? 'met' : 'NOT met'} (first enrollments ${fmt(first)}/s)`);
process.exitCode = first >= FLOOR ? 0 : 1;
cleanup();
