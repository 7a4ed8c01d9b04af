/**
 * `npm run bench:line -- [--units N] [--timed-units M] [--parallel P] [--chip atecc608|se050] [--json]`: the production line end to end, each part in its own process as on a
 * factory floor: `keyline server` (SoftHSM, SQLite) as a child, `keyline station run` as a child,
 * and the emulated chips served over the kit TCP protocol from this process.
 *
 * 1. Timing model off: 1,000 units (--units N); prints units/s and where the station's time went
 *    (server calls vs chip commands vs the station's own work). Floor: 1,000 units in < 60 s.
 * 2. Timing model on, P=8 (--timed-units M): the chips take their datasheet execution times;
 *    prints the station's overhead as a % of the chips' own command time. Floor: < 5 %.
 *    The chips' command time is measured here, at the emulator, as the time each command
 *    actually held its chip (the modelled time as the event loop delivered it), so timer
 *    lateness is counted as chip time rather than blamed on the station.
 *
 * `--chip se050` (issue 15): both phases run on ATECC608 chips first (the baseline) and then on
 * SE050 cards, one JRCP port per card served from this process, on work orders requiring the
 * cards' attested key origin, against the same server in the same run; units/s of both and their
 * ratio. The SE050's command times are the emulator's estimates (emulator/se050/timing.ts), not
 * data-sheet figures.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromPem } from '../common/pem.js';
import { loadManufacturerRoot, MANUFACTURER_ROOT_FILES } from '../common/se05x/manufacturer-root.js';
import { createBlankChip } from '../emulator/atecc608/factory.js';
import { execTimeMs } from '../emulator/atecc608/timing.js';
import { KitServer } from '../emulator/kit/kit-server.js';
import { listenKitTcp } from '../emulator/kit/tcp.js';
import { createSe050Chip } from '../emulator/se050/factory.js';
import { JrcpServer } from '../emulator/se050/jrcp/jrcp-server.js';
import { listenJrcpTcp } from '../emulator/se050/jrcp/tcp.js';
import { initDevPki } from '../server/ceremony/init-dev.js';
import { createProvisioning } from '../server/services/provisioning.js';
import { SqliteStore } from '../server/store/sqlite/sqlite-store.js';
import { benchArgs, fmt, spawnKeyline } from './lib.js';

const values = benchArgs('bench:line', `npm run bench:line -- [options]

The production line end to end, each part in its own process: keyline server (SoftHSM, SQLite)
and keyline station run as children, the emulated chips served over the kit TCP protocol.
1. Timing model off: units/s and where the station's time went (server calls, chip commands,
   its own work). PASS/FAIL: all N units good in < 60 s per 1,000.
2. Timing model on (the chips take their datasheet times), P=8: the station's overhead as a %
   of the chips' own command time, measured at the emulator in the same run (the baseline).
   PASS/FAIL: < 5 %.
With --chip se050 both phases run on ATECC608 first (the same-run baseline) and then on SE050
cards against the same server; the SE050/ATECC608 units/s ratio is printed. Exit 1 on a FAIL.
Run it alone: flock /tmp/keyline-bench.lock npm run bench:line

  --units N          units in phase 1, timing model off (default 1000)
  --timed-units M    units in phase 2, timing model on at P=8 (default 64)
  --parallel P       station --parallel in phase 1 (default 4)
  --chip C           atecc608 or se050 (default atecc608; se050 adds the SE050 runs)
  --json             one JSON document on stdout (figures, baselines, ratios, checks, pass);
                     progress lines to stderr
  --help             this text
`, { units: { type: 'string' }, 'timed-units': { type: 'string' }, parallel: { type: 'string' }, chip: { type: 'string' }, json: { type: 'boolean' } });
const CHIP = values.chip ?? 'atecc608';
if (CHIP !== 'atecc608' && CHIP !== 'se050') {
  process.stderr.write(`bench:line: --chip must be atecc608 or se050, got '${CHIP}'\n`);
  process.exit(2);
}
const UNITS = Number(values.units ?? 1000);
const TIMED_UNITS = Number(values['timed-units'] ?? 64);
const PARALLEL = Number(values.parallel ?? 4);
const TIMED_PARALLEL = 8;
/** Progress and the human report: stdout, or stderr under --json (stdout then holds only the JSON). */
const log = (s: string) => (values.json ? process.stderr : process.stdout).write(s);

interface Summary {
  good: number;
  quarantined: number;
  stopReason: string;
  elapsedSeconds: number;
  timing: { serverMs: number; chipMs: number; unitMs: number; units: number };
}

/** Runs `keyline station run` to completion and returns its JSON summary. */
function station(args: string[], env: NodeJS.ProcessEnv): Promise<{ summary: Summary; wallSeconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // STATION_PROF=1: a CPU profile of the timed station run in /tmp/prof (for looking into overhead).
    const prof = process.env.STATION_PROF && args.includes(process.env.STATION_PROF === 'fast' ? 'BENCH-FAST' : 'BENCH-TIMED') ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
    const child = spawn(process.execPath, [...prof, 'bin/keyline.js', 'station', 'run', '--json', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (!last.startsWith('{')) return reject(new Error(`station exited ${code}: ${err.slice(-2000)}`));
      resolve({ summary: JSON.parse(last) as Summary, wallSeconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** Chips served for one phase: the station's --emulator value, what the chips did, and how to stop serving. */
interface Served {
  endpoints: string;
  stats: { chipBusyMs: number; emulatorCpuMs: number; commands: number };
  close(): Promise<void>;
}

/**
 * ATECC608 chips on one kit endpoint. Timed: the chips hold themselves busy here for their
 * modelled time; the emulator's own work per command (GenKey's key generation, CRCs) is the
 * modelled chip working, not the station: timed here and reported apart.
 */
async function serveAtecc(n: number, timed: boolean): Promise<Served> {
  const stats = { chipBusyMs: 0, emulatorCpuMs: 0, commands: 0 };
  const chips = Array.from({ length: n }, () => createBlankChip());
  if (timed) {
    for (const c of chips) {
      const execute = c.execute.bind(c);
      c.execute = (frame) => {
        const t0 = performance.now();
        try {
          return execute(frame);
        } finally {
          stats.emulatorCpuMs += performance.now() - t0;
        }
      };
    }
  }
  const kit = new KitServer({
    chips,
    honourTiming: false,
    ...(timed ? {
      afterCommand: async (_index: number, frame: Uint8Array) => {
        const t0 = performance.now();
        await sleep(execTimeMs(frame[1]!));
        stats.chipBusyMs += performance.now() - t0;
        stats.commands++;
      },
    } : {}),
  });
  const l = await listenKitTcp(kit, { port: 0 });
  return { endpoints: `${l.host}:${l.port}`, stats, close: () => l.close() };
}

/** SE050 cards, one JRCP port each, attested by the PKI's manufacturer root; timed as serveAtecc is. */
async function serveSe050(n: number, timed: boolean, rootDir: string): Promise<Served> {
  const stats = { chipBusyMs: 0, emulatorCpuMs: 0, commands: 0 };
  const root = await loadManufacturerRoot(rootDir);
  const eps: string[] = [];
  const listeners: Array<{ close(): Promise<void> }> = [];
  for (let i = 0; i < n; i++) {
    const chip = await createSe050Chip({ root, applet: '3.1', timing: timed });
    // One JRCP server per card serves one APDU at a time: its last execution time is this APDU's.
    let lastExecMs = 0;
    if (timed) {
      const transmit = chip.transmit.bind(chip);
      chip.transmit = (capdu) => {
        const t0 = performance.now();
        try {
          const r = transmit(capdu);
          lastExecMs = r.execMs;
          return r;
        } finally {
          stats.emulatorCpuMs += performance.now() - t0;
        }
      };
    }
    const server = new JrcpServer({
      chip,
      honourTiming: false,
      ...(timed ? {
        afterApdu: async () => {
          const t0 = performance.now();
          await sleep(lastExecMs);
          stats.chipBusyMs += performance.now() - t0;
          stats.commands++;
        },
      } : {}),
    });
    const l = await listenJrcpTcp(server, { port: 0 });
    listeners.push(l);
    eps.push(`${l.host}:${l.port}`);
  }
  return { endpoints: eps.join(','), stats, close: async () => void (await Promise.all(listeners.map((l) => l.close()))) };
}

interface Check { what: string; ok: boolean }
interface FastFigures { chip: string; good: number; quarantined: number; seconds: number; wallSeconds: number; unitsPerSec: number; percent: Record<string, number>; check: Check }
interface TimedFigures { chip: string; good: number; seconds: number; unitsPerSec: number; chipCommands: number; msPerUnit: Record<string, number>; overheadPercentOfChip: number; check: Check }

/** Phase 1 on one chip: units/s and where the station's time went; PASS/FAIL against the floor. */
async function fastPhase(label: string, served: Served, workOrder: string, ctx: { configPath: string; env: NodeJS.ProcessEnv; journal: string }): Promise<FastFigures> {
  const { summary: s, wallSeconds } = await station(
    ['--config', ctx.configPath, '--work-order', workOrder, '--count', String(UNITS), '--emulator', served.endpoints, '--parallel', String(PARALLEL)],
    { ...ctx.env, KEYLINE_STATION_JOURNAL: ctx.journal },
  );
  await served.close();
  const { serverMs, chipMs, unitMs } = s.timing;
  const pct = (x: number) => `${fmt((100 * x) / unitMs, 1)} %`;
  const perSecond = s.good / s.elapsedSeconds;
  log(
    `${label} timing off: ${s.good} good, ${s.quarantined} quarantined in ${fmt(s.elapsedSeconds, 1)} s (${fmt(wallSeconds, 1)} s with process start): ${fmt(perSecond, 1)} units/s\n` +
      `  per unit ${fmt(unitMs / Math.max(1, s.timing.units), 1)} ms of a worker: server calls ${pct(serverMs)}, chip commands ${pct(chipMs)}, station's own work ${pct(unitMs - serverMs - chipMs)}\n`,
  );
  const ok = s.good === UNITS && wallSeconds < (60 * UNITS) / 1000;
  log(`  floor (${UNITS} units in < ${fmt((60 * UNITS) / 1000)} s): ${ok ? 'PASS' : 'FAIL'}\n`);
  const share = (x: number) => Number(((100 * x) / unitMs).toFixed(1));
  return {
    chip: label, good: s.good, quarantined: s.quarantined, seconds: Number(s.elapsedSeconds.toFixed(2)), wallSeconds: Number(wallSeconds.toFixed(2)),
    unitsPerSec: Number(perSecond.toFixed(1)), percent: { serverCalls: share(serverMs), chipCommands: share(chipMs), station: share(unitMs - serverMs - chipMs) },
    check: { what: `${label}: ${UNITS} units good in < ${fmt((60 * UNITS) / 1000)} s, timing off: ${s.good} in ${fmt(wallSeconds, 1)} s`, ok },
  };
}

/** Phase 2 on one chip: the station's overhead as a % of the chips' own command time; PASS/FAIL. */
async function timedPhase(label: string, served: Served, workOrder: string, ctx: { configPath: string; env: NodeJS.ProcessEnv; journal: string }): Promise<TimedFigures> {
  const { summary: s } = await station(
    ['--config', ctx.configPath, '--work-order', workOrder, '--count', String(TIMED_UNITS), '--emulator', served.endpoints, '--parallel', String(TIMED_PARALLEL)],
    { ...ctx.env, KEYLINE_STATION_JOURNAL: ctx.journal },
  );
  await served.close();
  const { chipBusyMs, emulatorCpuMs, commands } = served.stats;
  const { serverMs, unitMs } = s.timing;
  const overhead = unitMs - serverMs - chipBusyMs;
  const pct = (100 * overhead) / chipBusyMs;
  log(
    `${label} timing on (P=${TIMED_PARALLEL}): ${s.good} good in ${fmt(s.elapsedSeconds, 1)} s, ${fmt(s.good / s.elapsedSeconds, 2)} units/s; ${commands} chip commands, ${fmt(chipBusyMs / Math.max(1, s.good))} ms of chip time per unit\n` +
      `  station overhead ${fmt(overhead / Math.max(1, s.good), 1)} ms per unit = ${fmt(pct, 2)} % of the chip's own command time (server calls ${fmt(serverMs / Math.max(1, s.good), 1)} ms per unit, not counted)\n` +
      `    of which driver + link ${fmt((s.timing.chipMs - chipBusyMs) / Math.max(1, s.good), 1)} ms (the emulator's own computing in it: ${fmt(emulatorCpuMs / Math.max(1, s.good), 1)} ms), station logic and journal ${fmt((unitMs - serverMs - s.timing.chipMs) / Math.max(1, s.good), 1)} ms per unit\n`,
  );
  const ok = s.good === TIMED_UNITS && pct < 5;
  log(`  floor (overhead < 5 %): ${ok ? 'PASS' : 'FAIL'}\n`);
  const perUnit = (ms: number) => Number((ms / Math.max(1, s.good)).toFixed(1));
  return {
    chip: label, good: s.good, seconds: Number(s.elapsedSeconds.toFixed(2)), unitsPerSec: Number((s.good / s.elapsedSeconds).toFixed(2)), chipCommands: commands,
    msPerUnit: { chipBaseline: perUnit(chipBusyMs), stationOverhead: perUnit(overhead), serverCalls: perUnit(serverMs) },
    overheadPercentOfChip: Number(pct.toFixed(2)),
    check: { what: `${label}: station overhead < 5 % of the chip's own command time, timing on: ${fmt(pct, 2)} %`, ok },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-line-'));
let server: ReturnType<typeof spawn> | undefined;
const fast: FastFigures[] = [];
const timed: TimedFigures[] = [];
try {
  log(`bench:line  ${UNITS} units timing off at P=${PARALLEL}; ${TIMED_UNITS} units timing on at P=${TIMED_PARALLEL}${CHIP === 'se050' ? '; ATECC608 then SE050, same server' : ''}\n`);
  const pki = await initDevPki({ out: join(dir, 'pki') });
  const store = new SqliteStore(join(pki.outDir, 'keyline.db'));
  const roots = CHIP === 'se050' ? [fromPem(readFileSync(join(pki.outDir, MANUFACTURER_ROOT_FILES.cert), 'utf8'))] : [];
  const prov = createProvisioning({ store, issuer: { issue: () => Promise.reject(new Error('not used')) }, manufacturerRoots: roots });
  await prov.createWorkOrder({ id: 'BENCH-FAST', product: 'Bench', quota: UNITS }, 'officer:bench');
  await prov.createWorkOrder({ id: 'BENCH-TIMED', product: 'Bench', quota: TIMED_UNITS }, 'officer:bench');
  if (CHIP === 'se050') {
    await prov.createWorkOrder({ id: 'BENCH-SE-FAST', product: 'Bench', quota: UNITS, chip: 'se050', requireAttestation: true }, 'officer:bench');
    await prov.createWorkOrder({ id: 'BENCH-SE-TIMED', product: 'Bench', quota: TIMED_UNITS, chip: 'se050', requireAttestation: true }, 'officer:bench');
  }
  await store.close();

  const started = await spawnKeyline(['server', '--config', pki.configPath], /^api (\S+)$/m, { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' });
  server = started.child;
  const env = { KEYLINE_STATION_SERVER_URL: started.match[1]!, KEYLINE_LOG_LEVEL: 'warn' };
  const ctx = (journal: string) => ({ configPath: pki.configPath, env, journal: join(dir, journal) });

  // 1. Timing model off (both chips with --chip se050: the 608 first, as the same run's baseline).
  const atecc = await fastPhase('ATECC608', await serveAtecc(UNITS, false), 'BENCH-FAST', ctx('fast.db'));
  fast.push(atecc);
  if (CHIP === 'se050') {
    const se = await fastPhase('SE050', await serveSe050(UNITS, false, pki.outDir), 'BENCH-SE-FAST', ctx('se-fast.db'));
    fast.push(se);
    log(`SE050 vs ATECC608 (same run, same server, timing off): ${fmt(se.unitsPerSec, 1)} vs ${fmt(atecc.unitsPerSec, 1)} units/s = ${fmt(se.unitsPerSec / atecc.unitsPerSec, 2)}x\n`);
  }

  // 2. Timing model on, P=8.
  timed.push(await timedPhase('ATECC608', await serveAtecc(TIMED_UNITS, true), 'BENCH-TIMED', ctx('timed.db')));
  if (CHIP === 'se050') timed.push(await timedPhase('SE050', await serveSe050(TIMED_UNITS, true, pki.outDir), 'BENCH-SE-TIMED', ctx('se-timed.db')));
} finally {
  server?.kill('SIGTERM');
  await sleep(200);
  rmSync(dir, { recursive: true, force: true });
}
const checks = [...fast, ...timed].map((f) => f.check);
const pass = checks.every((c) => c.ok);
if (values.json) {
  const [atecc, se] = fast;
  process.stdout.write(JSON.stringify({
    units: UNITS, timedUnits: TIMED_UNITS, parallel: PARALLEL, timedParallel: TIMED_PARALLEL, chip: CHIP,
    timingOff: fast.map(({ check: _, ...f }) => f), timingOn: timed.map(({ check: _, ...f }) => f),
    ratios: { ...(se && atecc ? { se050ToAtecc608UnitsPerSec: Number((se.unitsPerSec / atecc.unitsPerSec).toFixed(2)) } : {}) },
    checks, pass,
  }, null, 2) + '\n');
}
process.exitCode = pass ? 0 : 1;
