/**
 * npm run test:scale -- [--store postgres|sqlite] [--units N] [--stations S] [--json] [--keep]
 *
 * The load-and-fault test of issue 7, loopback only and bounded in time: two `keyline server`
 * replicas on one database (a throw-away PostgreSQL cluster by default) and one token, Mosquitto
 * with TLS and the enrollment ACL, a TCP balancer in front of the replicas' HTTPS ports; S
 * stations (real `keyline station run` processes, own identities and emulators) provision N
 * units, while one replica is killed with SIGKILL and restarted; then every provisioned chip boots
 * as a device (`keyline device fleet`, all at once) while Mosquitto is killed and restarted and
 * then the other replica is killed and restarted; finally a revocation must reach the CRL both
 * replicas serve. Afterwards the invariants (test/scale/invariants.ts). Exit 0 only when every
 * one holds; progress on stderr, the summary on stdout (--json: one JSON line).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { StationApiClient } from '../../station/api-client.js';
import { startScaleEnv, type Replica, type ScaleEnv } from './env.js';
import { checkInvariants, type Check } from './invariants.js';
import { KeylineProc, until } from './proc.js';
import { Station, type JournalRow } from './stations.js';

const { values: o } = parseArgs({ options: {
  store: { type: 'string', default: 'postgres' }, units: { type: 'string', default: '500' }, stations: { type: 'string', default: '5' },
  json: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
} });
if (o.help) {
  process.stdout.write('Usage: npm run test:scale -- [--store postgres|sqlite] [--units N] [--stations S] [--json] [--keep]\n');
  process.exit(0);
}
const STORE = o.store === 'sqlite' ? 'sqlite' : 'postgres';
const UNITS = Number(o.units);
const STATIONS = Number(o.stations);
const PRODUCT = 'Scale Sensor';
const LIMIT_MS = 6 * 60_000;
const t0 = performance.now();
const say = (s: string) => process.stderr.write(`[scale ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${s}\n`);
const dir = mkdtempSync(join(tmpdir(), 'keyline-scale-'));
const faults: string[] = [];
const timer = setTimeout(() => {
  say(`time limit (${LIMIT_MS / 1000} s) reached: stopping`);
  process.exit(1);
}, LIMIT_MS);
timer.unref();

let env: ScaleEnv | undefined;
let checks: Check[] = [];
const figures: Record<string, unknown> = {};
try {
  env = await startScaleEnv({ dir, store: STORE, replicas: 2, crlLeaseSeconds: 3, rateLimitPerMinute: 1000, say });
  const e = env;

  // Work orders: the last two stations share one whose quota is smaller than both their counts together.
  const per = Math.floor(UNITS / STATIONS);
  const shared = Math.min(2, STATIONS);
  const api = new StationApiClient({ baseUrl: e.apiUrl, cert: readFileSync(e.pki.operatorCertPath, 'utf8'), key: readFileSync(e.pki.operatorKeyPath, 'utf8'), ca: readFileSync(e.pki.rootCertPath, 'utf8') });
  await api.createWorkOrder({ id: 'WO-SCALE-A', product: PRODUCT, quota: per * (STATIONS - shared) });
  await api.createWorkOrder({ id: 'WO-SCALE-B', product: PRODUCT, quota: UNITS - per * (STATIONS - shared) });
  api.close();
  const plans = Array.from({ length: STATIONS }, (_, i) => {
    const inB = i >= STATIONS - shared;
    // Stations on B ask for 10 % more than their share: together they must be stopped by the quota.
    const count = inB ? Math.ceil(per * 1.1) : per;
    return { id: `scale-station-${i + 1}`, workOrder: inB ? 'WO-SCALE-B' : 'WO-SCALE-A', count, chips: count + 10, parallel: 4 };
  });
  say(`work orders: WO-SCALE-A quota ${per * (STATIONS - shared)}, WO-SCALE-B quota ${UNITS - per * (STATIONS - shared)} (its ${shared} stations ask for ${plans.at(-1)!.count} each)`);
  const stations = await Promise.all(plans.map((p) => Station.prepare(e, p, join(dir, 'stations', p.id))));
  say(`stations: ${stations.length} identities and emulators ready (${plans.reduce((a, p) => a + p.chips, 0)} blank chips)`);

  // Provisioning, with replica 1 killed (SIGKILL) at a third of the way and restarted.
  const tProv = performance.now();
  for (const s of stations) s.run();
  const total = () => stations.reduce((a, s) => a + s.good(), 0);
  const progress = setInterval(() => say(`provisioning: ${total()}/${UNITS} good units`), 3000);
  await until('a third of the units', () => total() >= UNITS / 3 || stations.every((s) => s.proc!.child.exitCode !== null), 180_000, 50);
  // The CRL signer is the replica to kill: the other must take its lease over.
  const victim = (await crlSigner(e)) ?? e.replicas[0]!;
  const crlBefore = await crlNumber(e, e.replicas[0]!);
  say(`fault: kill -9 replica ${victim.index} (the CRL signer) at ${total()} good units`);
  await victim.stop('SIGKILL');
  faults.push(`replica ${victim.index} (CRL signer) killed (SIGKILL) during provisioning at ${total()} units`);
  await sleep(2000);
  await victim.start();
  say(`fault: replica ${victim.index} restarted`);
  faults.push(`replica ${victim.index} restarted`);
  const ends = await Promise.all(stations.map((s) => s.finished()));
  clearInterval(progress);
  const provSeconds = (performance.now() - tProv) / 1000;
  ends.forEach((r, i) => say(`station ${plans[i]!.id}: exit ${r.code}, ${stations[i]!.good()} good${r.summary ? `, stopped: ${String(r.summary.stopReason)}` : ''}`));
  figures.provisioning = { seconds: Number(provSeconds.toFixed(1)), good: total(), unitsPerSecond: Number((total() / provSeconds).toFixed(1)), stationExits: ends.map((r) => r.code) };
  const stationsOk = ends.every((r, i) => r.code === 0 || (plans[i]!.workOrder === 'WO-SCALE-B' && r.code === 3));

  // The chips leave the factory: every confirmed unit's image goes to the field folder.
  const journal: JournalRow[] = [];
  const field = join(dir, 'field');
  await Promise.all(stations.map(async (s) => {
    await s.shipChips();
    const rows = await s.journal();
    journal.push(...rows);
    s.copyChips(rows.filter((r) => r.status === 'good').map((r) => r.serial), field);
  }));
  const devices = journal.filter((r) => r.status === 'good').map((r) => r.serial);
  say(`field: ${devices.length} devices boot at once through ${e.broker.deviceUrl}`);

  // Enrollment, with Mosquitto killed and restarted once a fifth of the devices have enrolled.
  const tEnroll = performance.now();
  const fleet = KeylineProc.spawn('fleet', ['device', 'fleet', '--chips', field, '--broker', e.broker.deviceUrl, '--config', e.pki.configPath, '--product', PRODUCT,
    '--concurrency', String(devices.length), '--mqtt', '5', '--timeout', '15000', '--retries', '20', '--json']);
  const enrolledCount = async () => Number((await e.sql.all<{ c: unknown }>('SELECT count(*) AS c FROM enrollments'))[0]?.c);
  await until('a fifth of the devices to enroll', async () => (await enrolledCount()) >= devices.length / 5 || fleet.child.exitCode !== null, 120_000, 50);
  say(`fault: kill -9 Mosquitto at ${await enrolledCount()} enrollments`);
  await e.broker.restart(true);
  say('fault: Mosquitto restarted');
  faults.push(`Mosquitto killed (SIGKILL) and restarted during enrollment at ${await enrolledCount()} enrollments`);
  // And a replica while devices are mid-enrollment: its shared-subscription share is lost in flight.
  await until('half of the devices to enroll', async () => (await enrolledCount()) >= devices.length / 2 || fleet.child.exitCode !== null, 120_000, 50);
  const second = e.replicas[1]!;
  const at = await enrolledCount();
  await second.stop('SIGKILL');
  say(`fault: kill -9 replica ${second.index} at ${at} enrollments`);
  faults.push(`replica ${second.index} killed (SIGKILL) during enrollment at ${at} enrollments, restarted`);
  await second.start();
  say(`fault: replica ${second.index} restarted`);
  const fleetEnd = await fleet.exited;
  const enrollSeconds = (performance.now() - tEnroll) / 1000;
  let fleetSummary: Record<string, unknown> | null = null;
  try {
    fleetSummary = JSON.parse(fleet.stdout.trim().split('\n').pop() ?? '');
  } catch {
    say(`fleet printed no summary: ${fleet.stderrTail}`);
  }
  say(`fleet: exit ${fleetEnd.code}: ${JSON.stringify(fleetSummary)}`);
  figures.enrollment = { seconds: Number(enrollSeconds.toFixed(1)), devices: devices.length, fleetExit: fleetEnd.code, fleet: fleetSummary };

  // A revocation through the balancer: whichever replica signs now, both must serve it.
  const revoked = devices[0]!;
  const officer = new StationApiClient({ baseUrl: e.apiUrl, cert: readFileSync(e.pki.officerCertPath, 'utf8'), key: readFileSync(e.pki.officerKeyPath, 'utf8'), ca: readFileSync(e.pki.rootCertPath, 'utf8') });
  const rev = await officer.raw('POST', '/v1/revocations', { serial: revoked, reason: 'keyCompromise' });
  officer.close();
  if (rev.status !== 200) throw new Error(`revocation of ${revoked} refused: ${rev.status} ${JSON.stringify(rev.body)}`);
  await until('every replica to serve a CRL with the revocation', async () => {
    const ns = await Promise.all(e.replicas.map((r) => crlNumber(e, r)));
    return ns.every((x) => x > crlBefore) && new Set(ns).size === 1;
  }, 20_000, 250);
  const crlAfter = await crlNumber(e, e.replicas[0]!);
  say(`crl: number ${crlBefore} before the kill, ${crlAfter} after revoking ${revoked}; signer now replica ${(await crlSigner(e))?.index ?? '?'}`);
  figures.crl = { before: crlBefore, after: crlAfter, signer: (await crlSigner(e))?.index ?? null };

  say('checking the invariants');
  checks = await checkInvariants(e, journal, devices, [revoked]);
  checks.unshift({ name: 'stations stopped as planned (target, or the shared quota)', ok: stationsOk, detail: `exit codes ${ends.map((r) => r.code).join(', ')}` });
  checks.unshift({ name: 'provisioned units (label lines), all in the journals', ok: total() >= UNITS * 0.9 && devices.length === total(), detail: `${total()} good units of ${UNITS} planned, ${devices.length} good in the journals` });
} catch (err) {
  say(`run failed: ${(err as Error).stack ?? String(err)}`);
  checks.push({ name: 'run completed', ok: false, detail: (err as Error).message });
  for (const r of env?.replicas ?? []) if (r.proc?.stderrTail) say(`replica ${r.index} stderr tail: ${r.proc.stderrTail.slice(-1500)}`);
} finally {
  await env?.close();
  if (!o.keep) rmSync(dir, { recursive: true, force: true });
  else say(`kept ${dir}`);
}

/** The replica holding the 'crl-issuer' lease (its holder name carries the process id). */
async function crlSigner(e: ScaleEnv): Promise<Replica | undefined> {
  const [l] = await e.sql.all<{ holder: string }>("SELECT holder FROM leases WHERE name = 'crl-issuer'");
  const pid = Number(l?.holder.split(':').at(-2));
  return e.replicas.find((r) => r.proc?.child.pid === pid);
}

/** The CRL Number a replica serves (decoded by openssl). */
async function crlNumber(e: ScaleEnv, r: Replica): Promise<number> {
  const der = Buffer.from(await (await fetch(`${r.publicUrl}/crl/issuing.crl`)).arrayBuffer());
  const f = join(dir, `crl-${r.index}.der`);
  writeFileSync(f, der);
  const out = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', f, '-noout', '-crlnumber'], { encoding: 'utf8' });
  return parseInt(/crlNumber=(?:0x)?([0-9A-Fa-f]+)/.exec(out)![1]!, 16);
}

const ok = checks.length > 0 && checks.every((c) => c.ok);
const result = { ok, store: STORE, units: UNITS, stations: STATIONS, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)), faults, figures, checks };
if (o.json) {
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  const w = (s: string) => process.stdout.write(s + '\n');
  w(`\ntest:scale on ${STORE}: ${ok ? 'PASS' : 'FAIL'} in ${result.seconds} s`);
  for (const f of faults) w(`  fault   ${f}`);
  for (const c of checks) w(`  ${c.ok ? 'ok  ' : 'FAIL'}    ${c.name}: ${c.detail}`);
}
process.exit(ok ? 0 : 1);
