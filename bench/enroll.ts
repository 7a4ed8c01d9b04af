/**
 * `npm run bench:enroll -- [--devices N] [--rounds R] [--workers W] [--warmup N] [--qos 0|1] [--protocol aws-fleet|dps]... [--keep] [--json]`:
 * field enrollment against Mosquitto, each part in its own process: Mosquitto (TLS, started here
 * on a free port), `keyline server` as a child using it as its external broker (SoftHSM, SQLite,
 * W workers sharing the requests through MQTT 5 shared subscriptions), and N simulated devices in
 * this process, each with its own TLS connection and its own emulated chip.
 *
 * Chips: N (+ warm-up) blank emulated chips are provisioned in this process by the station's own
 * line code (runLine over the in-process transport) against the server child's HTTPS API, then
 * saved as chip images; each device then boots from its image as `keyline device boot` would.
 *
 * Measured: round 1 = N first enrollments all at once (hello → challenge → chip counter + sign →
 * proof → enrolled, config verified), rounds 2..R = the same devices re-authenticating;
 * connections are opened, and 1,024 other devices enrolled twice (so the server's code is compiled,
 * as in a server that has been up), before the clock starts. The devices keep their chip and
 * state in memory (no file writes, see below). Per round: CPU per enrollment of each process
 * and how much of the machine other processes took (bench/process-cpu.ts).
 *
 * Baseline in the same run, before the first round and after each (a round counts against the
 * higher of the two beside it): N MQTT 5 clients on
 * the same Mosquitto doing request/response round trips through a trivial echo responder
 * (TCP_NODELAY on every socket). Issue 13's targets, printed PASS/FAIL: first enrollments >= 25 %
 * of the broker's round trips/s (an enrollment is two round trips: half the ceiling) and
 * >= 1,000/s; re-authentication the same.
 *
 * `--protocol dps` / `--protocol aws-fleet` (either or both, issue 16): after the Keyline rounds,
 * N more devices per protocol register through the server's DPS / Fleet Provisioning endpoint,
 * twice (bench/enroll-cloud.ts), and a table puts registrations/s beside the Keyline protocol's
 * enrollments/s and the broker baseline of the same run. The DPS endpoint answers its 202 with
 * retry-after 0 here (dps.pollAfterSeconds; 1 s by default, 3 s on Azure), so the figure is the
 * server's, not a wait the protocol asks for.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import type { EnrollProtocol } from '../firmware-sim/cloud/cloud-errors.js';
import { cloudRounds, type CloudRound } from './enroll-cloud.js';
import { benchArgs, fmt, mqttRoundTripsPerSec, percentile, startMosquitto } from './lib.js';
import { cpuSnapshot, cpuSpent } from './process-cpu.js';

const values = benchArgs('bench:enroll', `npm run bench:enroll -- [options]

Field enrollment against Mosquitto (TLS, started here), each part in its own process: keyline
server as a child using it as its external broker (W workers, MQTT 5 shared subscriptions) and N
simulated devices in this process, each with its own TLS connection and emulated chip (provisioned
first through the station's line code). Round 1: N first enrollments at once; rounds 2..R: the same
devices re-authenticating; per round enrollments/s, p50/p99 and CPU per enrollment of each process.
Baseline from the same run, before round 1 and after each: N MQTT 5 clients doing request/response
round trips through an echo responder on the same Mosquitto (a round counts against the higher of
the two beside it). PASS/FAIL (issue 13): first enrollments >= 25 % of the broker's round trips/s
(an enrollment is two round trips) and >= 1,000/s; re-authentication the same. Exit 1 on a FAIL.
Run it alone: flock /tmp/keyline-bench.lock npm run bench:enroll

  --devices N        devices enrolled at once per round (default 2048)
  --rounds R         rounds: 1 of first enrollments, then re-authentications (default 3)
  --workers W        keyline server --workers W (default 2: both cores, as a factory would)
  --warmup N         more devices enrolled twice before the clock starts, unmeasured (default 1024)
  --qos Q            QoS of the devices' requests and answers, 0 or 1 (default 1)
  --protocol P       aws-fleet or dps, repeatable (issue 16): N more devices per protocol
                     register through the server's endpoint, twice, after the Keyline rounds
  --keep             keep the temp folder (PKI, chips, journal) instead of removing it
  --json             one JSON document on stdout (figures, baselines, ratios, checks, pass);
                     progress lines to stderr
  --help             this text
`, { devices: { type: 'string' }, rounds: { type: 'string' }, workers: { type: 'string' }, qos: { type: 'string' }, warmup: { type: 'string' }, keep: { type: 'boolean' }, protocol: { type: 'string', multiple: true }, json: { type: 'boolean' } });
// Rounds of 256 devices lasted 0.3-0.4 s, moved by their start and end (256 devices in step) and by
// any other process's second; rounds of 2,048 last ~2 s (bench/README.md, Enrollment).
const DEVICES = Number(values.devices ?? 2048);
/**
 * Devices enrolled (twice) before round 1 and not measured, so the server's code is compiled by
 * then, as in a server that has been up. With 256 the server's V8 still optimized ~100 functions
 * during a round of 2,048 first enrollments (the first-enrollment path, mqtt.js's packet code),
 * ~25 with 1,024 (--trace-opt; bench/README.md).
 */
const WARMUP = Number(values.warmup ?? 1024);
/** Cloud protocols measured after the Keyline rounds, each with DEVICES devices of its own. */
const CLOUD = [...new Set(values.protocol ?? [])].filter((p) => p !== 'keyline') as Array<Exclude<EnrollProtocol, 'keyline'>>;
for (const p of CLOUD) {
  if (p !== 'aws-fleet' && p !== 'dps') {
    process.stderr.write(`bench:enroll: --protocol takes aws-fleet or dps, got '${p}'\n`);
    process.exit(2);
  }
}
const TOTAL = DEVICES + WARMUP + DEVICES * CLOUD.length;
const ROUNDS = Number(values.rounds ?? 3);
// Two workers (MQTT 5 shared subscriptions split the requests) use both cores, as a factory would.
const WORKERS = Number(values.workers ?? 2);
/** QoS of the devices' requests and answer subscription (1, the default path; 0 to compare). */
const QOS = values.qos === '0' ? 0 : 1;
/** Issue 13: first enrollments (and re-authentications) at least this share of the broker's round trips/s, and this many per second. */
const RATIO_AIM = 0.25;
const FLOOR = 1000;
const PRODUCT = 'Bench Sensor';
/** Progress and the human report: stdout, or stderr under --json (stdout then holds only the JSON). */
const out = (s: string) => (values.json ? process.stderr : process.stdout).write(s + '\n');

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-enroll-'));
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) c.kill('SIGTERM');
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
/** Which part of the bench a child process's CPU counts for (bench/process-cpu.ts). */
const partOf = (pid: number, comm: string) => (comm === 'mosquitto' ? 'mosquitto' : children.some((c) => c.pid === pid) ? 'server' : undefined);

/**
 * Starts `keyline server` as a child and resolves with its API URL. ENROLL_PROF=DIR: a CPU
 * profile of the server (single worker) written to DIR at exit, to see where its time goes.
 */
const endpoints: Partial<Record<EnrollProtocol, string>> = {};
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
      for (const p of ['aws-fleet', 'dps'] as const) endpoints[p] ??= so.match(new RegExp(`^${p} (\\S+)$`, 'm'))?.[1];
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
if (CLOUD.includes('dps')) cfg.dps = { ...cfg.dps, pollAfterSeconds: 0 };
// Every cloud device connects at once: the endpoints' connection cap (1,000 by default, a bound
// on a server's memory) must hold them all, or the devices past it are dropped at connect and
// the bench measures the cap, not the protocol.
for (const section of ['dps', 'awsFleet'] as const) {
  if (CLOUD.includes(section === 'dps' ? 'dps' : 'aws-fleet') && cfg[section]) {
    cfg[section].limits = { ...cfg[section].limits, maxConnections: Math.max(cfg[section].limits?.maxConnections ?? 0, DEVICES + 64) };
  }
}
writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
out(`mosquitto ${brokerUrl} (TLS); starting keyline server with it as the external broker`);
const apiUrl = await startServer();

// Provisioning: the station's line code in this process, chips in-process, the real server API.
const api = new StationApiClient({ baseUrl: apiUrl, cert: readFileSync(pki.stationCertPath, 'utf8'), key: readFileSync(pki.stationKeyPath, 'utf8'), ca: rootPem, maxSockets: 8 });
const operator = new StationApiClient({ baseUrl: apiUrl, cert: readFileSync(pki.operatorCertPath, 'utf8'), key: readFileSync(pki.operatorKeyPath, 'utf8'), ca: rootPem });
await operator.createWorkOrder({ id: 'BENCH-ENROLL', product: PRODUCT, quota: TOTAL });
operator.close();
const chips = Array.from({ length: TOTAL }, () => createBlankChip());
const journal = new Journal(join(dir, 'journal.db'));
const tProv = performance.now();
const line = await runLine(
  { api, journal, checker: new CertChecker(rootPem), profile: keylineProfile(), source: new InProcessChipSource(chips), progress: new Progress({ target: TOTAL, alreadyGood: 0, out: { write: () => true }, err: { write: () => true } }) },
  { workOrder: 'BENCH-ENROLL', station: 'station-01', target: TOTAL, parallel: 8 },
);
journal.close();
api.close();
if (line.good !== TOTAL) throw new Error(`provisioning made ${line.good}/${TOTAL} good units (${line.stopReason})`);
const chipDir = join(dir, 'chips');
mkdirSync(chipDir);
const files = await Promise.all(chips.map(async (c) => {
  const f = join(chipDir, chipFileName(c));
  await saveChipImage(c, f);
  return f;
}));
out(`provisioned ${TOTAL} chips (${WARMUP} of them to warm up) through the station line in ${((performance.now() - tProv) / 1000).toFixed(1)} s`);

// Devices: power on (identity rebuilt and verified), connect, then enroll all at once per round.
const trust = trustFromFactoryConfig(pki.configPath, PRODUCT);
const cloudFiles = files.splice(DEVICES + WARMUP);
const fleet: PoweredDevice[] = await Promise.all(files.map((chipFile) => powerOn({ chipFile, firstBootTrust: () => trust })));
const tConn = performance.now();
const fleetLinks: EnrollClient[] = [];
for (let i = 0; i < fleet.length; i += 64) fleetLinks.push(...(await Promise.all(fleet.slice(i, i + 64).map((d) => connectDevice(d, { brokerUrl, protocolVersion: 5, qos: QOS })))));
out(`connected ${fleetLinks.length} devices (TLS, MQTT ${fleetLinks[0]?.protocolVersion === 5 ? '5' : '3.1.1'}) in ${((performance.now() - tConn) / 1000).toFixed(1)} s`);
// Device flash writes (chip image, state file) are off: in the field they cost each device's own
// CPU, here they cost ~0.9 ms of the server's machine per enrollment (firmware-sim/boot.ts).
const enrollOpts = { persist: false };
for (let pass = 0; pass < 2; pass++) await Promise.all(fleet.slice(DEVICES).map((d, i) => enrollDevice(d, fleetLinks[DEVICES + i]!, enrollOpts)));
const devices = fleet.slice(0, DEVICES);
const links = fleetLinks.slice(0, DEVICES);

// The broker's ceiling beside each round: before the first and after every round (load from other
// processes on a shared machine moves it from second to second), so each round is compared with
// the higher of the two measured next to it.
const baselines = [await baseline('before round 1')];

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
  const cpu0 = cpuSnapshot(partOf);
  const tMono0 = process.hrtime.bigint() / 1000n;
  const t0 = performance.now();
  await Promise.all(devices.map(async (d, i) => {
    const s = performance.now();
    const { msg } = await enrollDevice(d, links[i]!, enrollOpts);
    if (msg.reenrolled) reenrolled++;
    lat.push(performance.now() - s);
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSpent(cpu0, cpuSnapshot(partOf));
  // The server's profile covers its whole life: these monotonic bounds (µs, the clock V8's
  // profiles use) let a reader keep only the samples of this round.
  if (process.env.ENROLL_PROF) out(`profile window round ${r + 1}: ${tMono0}-${process.hrtime.bigint() / 1000n} µs`);
  const perEnrollment = (x: number) => fmt((x / DEVICES) * 1000, 2);
  const row = { perSec: DEVICES / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), outcome: reenrolled === 0 ? 'first enrollment' : reenrolled === DEVICES ? 're-authentication' : `${reenrolled} re-auth` };
  rounds.push(row);
  out(`round ${r + 1} (${row.outcome}): ${fmt(row.perSec)} enrollments/s, p50 ${fmt(row.p50, 1)} ms, p99 ${fmt(row.p99, 1)} ms; waits p50: hello→challenge ${fmt(percentile(waits.hello, 50), 1)} ms, proof→enrolled ${fmt(percentile(waits.proof, 50), 1)} ms`);
  out(`  CPU per enrollment: devices (this process) ${perEnrollment(cpu.self)} ms, server ${perEnrollment(cpu.parts.server ?? 0)} ms (its event loops ${perEnrollment(cpu.loops.server ?? 0)} ms), Mosquitto ${perEnrollment(cpu.parts.mosquitto ?? 0)} ms; `
    + `machine ${fmt((100 * cpu.machineBusy) / (cpu.machineBusy + cpu.machineIdle))} % busy, other processes ${fmt(((cpu.machineBusy - cpu.self - (cpu.parts.server ?? 0) - (cpu.parts.mosquitto ?? 0)) / seconds) * 100)} % of a core`);
  baselines.push(await baseline(`after round ${r + 1}`));
}
await Promise.all(fleetLinks.map((l) => l.close()));
await Promise.all(fleet.map((d) => d.dev.close()));

// The cloud protocols, on the same server, each with devices of its own.
const cloud: CloudRound[] = [];
for (const [i, protocol] of CLOUD.entries()) {
  const url = endpoints[protocol];
  if (!url) throw new Error(`keyline server printed no '${protocol}' line: is the ${protocol === 'dps' ? 'dps' : 'awsFleet'} section in ${pki.configPath}?`);
  const own = await Promise.all(cloudFiles.slice(i * DEVICES, (i + 1) * DEVICES).map((chipFile) => powerOn({ chipFile, firstBootTrust: () => trust })));
  out('');
  out(`${protocol}: ${DEVICES} devices of their own through ${url}, all at once, 2 rounds (each registration opens its own mutual-TLS connection)`);
  cloud.push(...(await cloudRounds({ protocol, url, devices: own, rounds: 2, out, partOf })));
  await Promise.all(own.map((d) => d.dev.close()));
  baselines.push(await baseline(`after ${protocol}`));
}

/** The broker's request/response ceiling, with the CPU it cost per round trip. */
async function baseline(when: string): Promise<number> {
  let cpu0 = cpuSnapshot(partOf);
  let cpu = cpu0;
  const rts = DEVICES * 4 * 2;
  const b = await mqttRoundTripsPerSec(brokerUrl, rootPem, DEVICES, rts / DEVICES, { start: () => (cpu0 = cpuSnapshot(partOf)), end: () => (cpu = cpuSpent(cpu0, cpuSnapshot(partOf))) });
  out(`baseline ${when}: Mosquitto request/response with ${DEVICES} clients: ${fmt(b.rtPerSec)} round trips/s, p50 ${fmt(b.p50, 1)} ms, p99 ${fmt(b.p99, 1)} ms`);
  out(`  CPU per round trip: clients and echo responder (this process) ${fmt((cpu.self / rts) * 1000, 2)} ms, Mosquitto ${fmt(((cpu.parts.mosquitto ?? 0) / rts) * 1000, 2)} ms; `
    + `machine ${fmt((100 * cpu.machineBusy) / (cpu.machineBusy + cpu.machineIdle))} % busy`);
  return b.rtPerSec;
}
const first = rounds[0]!.perSec;
const firstBase = Math.max(baselines[0]!, baselines[1]!);
const later = rounds.slice(1);
const reauth = later.length ? later.length / later.reduce((a, r) => a + 1 / r.perSec, 0) : NaN;
const reauthBase = Math.max(...baselines.slice(1));
const share = (x: number, base: number) => `${((x / base) * 100).toFixed(1)} % of Mosquitto's ${fmt(base)} round trips/s`;
const checks = [
  { ok: first >= RATIO_AIM * firstBase, what: `first enrollments ${fmt(first)}/s = ${share(first, firstBase)} measured beside them (>= ${RATIO_AIM * 100} %: an enrollment is 2 round trips, so half the broker's ceiling)` },
  { ok: first >= FLOOR, what: `first enrollments ${fmt(first)}/s >= ${fmt(FLOOR)}/s` },
  ...(later.length ? [
    { ok: reauth >= RATIO_AIM * reauthBase, what: `re-authentication ${fmt(reauth)}/s (rounds 2-${ROUNDS}) = ${share(reauth, reauthBase)} (the highest beside them; >= ${RATIO_AIM * 100} %)` },
    { ok: reauth >= FLOOR, what: `re-authentication ${fmt(reauth)}/s >= ${fmt(FLOOR)}/s` },
  ] : []),
];
if (cloud.length) {
  const failures = cloud.reduce((n, r) => n + Object.values(r.failed).reduce((a, b) => a + b, 0), 0);
  checks.push({ ok: failures === 0, what: `cloud-protocol registrations: ${failures} failed of ${cloud.length * DEVICES}` });
  out('');
  out(`same run, ${DEVICES} devices at once: protocol / first per second / again per second (p50, p99 ms)`);
  const cell = (r: { perSec: number; p50: number; p99: number } | undefined) => (r ? `${fmt(r.perSec)}/s (${fmt(r.p50, 1)}, ${fmt(r.p99, 1)})` : '-');
  out(`  keyline    ${cell(rounds[0])}  ${cell(rounds[1])}  (connections opened before the clock)`);
  for (const p of CLOUD) {
    const rs = cloud.filter((r) => r.protocol === p);
    out(`  ${p.padEnd(9)}  ${cell(rs[0])}  ${cell(rs[1])}  (each with its TLS handshake)${rs.some((r) => Object.keys(r.failed).length) ? '  FAILURES above' : ''}`);
  }
  out(`  Mosquitto baseline ${fmt(Math.min(...baselines))}-${fmt(Math.max(...baselines))} round trips/s over the run`);
}
out('');
for (const c of checks) out(`${c.ok ? 'PASS' : 'FAIL'}  ${c.what}`);
const pass = checks.every((c) => c.ok);
out(pass ? 'PASS' : 'FAIL');
if (values.json) {
  const ms = (x: number) => Number(x.toFixed(1));
  process.stdout.write(JSON.stringify({
    devices: DEVICES, rounds: ROUNDS, workers: WORKERS, qos: QOS, warmup: WARMUP,
    baseline: { mosquittoRoundTripsPerSec: baselines.map(Math.round), forFirst: Math.round(firstBase), forReauth: later.length ? Math.round(reauthBase) : null },
    enrollments: rounds.map((r) => ({ outcome: r.outcome, perSec: Math.round(r.perSec), p50ms: ms(r.p50), p99ms: ms(r.p99) })),
    firstPerSec: Math.round(first), reauthPerSec: later.length ? Math.round(reauth) : null,
    ratios: { firstToBrokerRoundTrips: Number((first / firstBase).toFixed(3)), reauthToBrokerRoundTrips: later.length ? Number((reauth / reauthBase).toFixed(3)) : null },
    cloud: cloud.map((r) => ({ protocol: r.protocol, outcome: r.outcome, perSec: Math.round(r.perSec), p50ms: ms(r.p50), p99ms: ms(r.p99), failed: r.failed })),
    checks: checks.map((c) => ({ what: c.what, ok: c.ok })), pass,
  }, null, 2) + '\n');
}
process.exitCode = pass ? 0 : 1;
await broker.stop();
cleanup();
