/**
 * `npm run bench:line`: the production line end to end, each part in its own process as on a
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
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBlankChip } from '../emulator/atecc608/factory.js';
import { execTimeMs } from '../emulator/atecc608/timing.js';
import { KitServer } from '../emulator/kit/kit-server.js';
import { listenKitTcp } from '../emulator/kit/tcp.js';
import { initDevPki } from '../server/ceremony/init-dev.js';
import { createProvisioning } from '../server/services/provisioning.js';
import { SqliteStore } from '../server/store/sqlite/sqlite-store.js';
import { fmt, spawnKeyline } from './lib.js';

const { values } = parseArgs({ options: { units: { type: 'string' }, 'timed-units': { type: 'string' }, parallel: { type: 'string' } } });
const UNITS = Number(values.units ?? 1000);
const TIMED_UNITS = Number(values['timed-units'] ?? 64);
const PARALLEL = Number(values.parallel ?? 4);
const TIMED_PARALLEL = 8;

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

const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-line-'));
let server: ReturnType<typeof spawn> | undefined;
let exit = 0;
try {
  process.stdout.write(`bench:line  ${UNITS} units timing off at P=${PARALLEL}; ${TIMED_UNITS} units timing on at P=${TIMED_PARALLEL}\n`);
  const pki = await initDevPki({ out: join(dir, 'pki') });
  const store = new SqliteStore(join(pki.outDir, 'keyline.db'));
  const prov = createProvisioning({ store, issuer: { issue: () => Promise.reject(new Error('not used')) } });
  await prov.createWorkOrder({ id: 'BENCH-FAST', product: 'Bench', quota: UNITS }, 'officer:bench');
  await prov.createWorkOrder({ id: 'BENCH-TIMED', product: 'Bench', quota: TIMED_UNITS }, 'officer:bench');
  await store.close();

  const started = await spawnKeyline(['server', '--config', pki.configPath], /^api (\S+)$/m, { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' });
  server = started.child;
  const env = { KEYLINE_STATION_SERVER_URL: started.match[1]!, KEYLINE_LOG_LEVEL: 'warn' };

  // 1. Timing model off.
  {
    const kit = new KitServer({ chips: Array.from({ length: UNITS }, () => createBlankChip()), honourTiming: false });
    const l = await listenKitTcp(kit, { port: 0 });
    const { summary: s, wallSeconds } = await station(
      ['--config', pki.configPath, '--work-order', 'BENCH-FAST', '--count', String(UNITS), '--emulator', `${l.host}:${l.port}`, '--parallel', String(PARALLEL)],
      { ...env, KEYLINE_STATION_JOURNAL: join(dir, 'fast.db') },
    );
    await l.close();
    const { serverMs, chipMs, unitMs } = s.timing;
    const pct = (x: number) => `${fmt((100 * x) / unitMs, 1)} %`;
    process.stdout.write(
      `timing off: ${s.good} good, ${s.quarantined} quarantined in ${fmt(s.elapsedSeconds, 1)} s (${fmt(wallSeconds, 1)} s with process start): ${fmt(s.good / s.elapsedSeconds, 1)} units/s\n` +
        `  per unit ${fmt(unitMs / Math.max(1, s.timing.units), 1)} ms of a worker: server calls ${pct(serverMs)}, chip commands ${pct(chipMs)}, station's own work ${pct(unitMs - serverMs - chipMs)}\n`,
    );
    const ok = s.good === UNITS && wallSeconds < (60 * UNITS) / 1000;
    process.stdout.write(`  floor (${UNITS} units in < ${fmt((60 * UNITS) / 1000)} s): ${ok ? 'PASS' : 'FAIL'}\n`);
    if (!ok) exit = 1;
  }

  // 2. Timing model on, P=8: the chips hold themselves busy here for their modelled time.
  {
    let chipBusyMs = 0;
    let emulatorCpuMs = 0;
    let commands = 0;
    const chips = Array.from({ length: TIMED_UNITS }, () => createBlankChip());
    // The emulator's own work per command (GenKey's key generation, CRCs) is the modelled chip
    // working, not the station: timed here and reported apart.
    for (const c of chips) {
      const execute = c.execute.bind(c);
      c.execute = (frame) => {
        const t0 = performance.now();
        try {
          return execute(frame);
        } finally {
          emulatorCpuMs += performance.now() - t0;
        }
      };
    }
    const kit = new KitServer({
      chips,
      honourTiming: false,
      afterCommand: async (_index, frame) => {
        const t0 = performance.now();
        await sleep(execTimeMs(frame[1]!));
        chipBusyMs += performance.now() - t0;
        commands++;
      },
    });
    const l = await listenKitTcp(kit, { port: 0 });
    const { summary: s } = await station(
      ['--config', pki.configPath, '--work-order', 'BENCH-TIMED', '--count', String(TIMED_UNITS), '--emulator', `${l.host}:${l.port}`, '--parallel', String(TIMED_PARALLEL)],
      { ...env, KEYLINE_STATION_JOURNAL: join(dir, 'timed.db') },
    );
    await l.close();
    const { serverMs, unitMs } = s.timing;
    const overhead = unitMs - serverMs - chipBusyMs;
    const pct = (100 * overhead) / chipBusyMs;
    process.stdout.write(
      `timing on (P=${TIMED_PARALLEL}): ${s.good} good in ${fmt(s.elapsedSeconds, 1)} s, ${fmt(s.good / s.elapsedSeconds, 2)} units/s; ${commands} chip commands, ${fmt(chipBusyMs / Math.max(1, s.good))} ms of chip time per unit\n` +
        `  station overhead ${fmt(overhead / Math.max(1, s.good), 1)} ms per unit = ${fmt(pct, 2)} % of the chip's own command time (server calls ${fmt(serverMs / Math.max(1, s.good), 1)} ms per unit, not counted)\n` +
        `    of which driver + kit link ${fmt((s.timing.chipMs - chipBusyMs) / Math.max(1, s.good), 1)} ms (the emulator's own computing in it: ${fmt(emulatorCpuMs / Math.max(1, s.good), 1)} ms), station logic and journal ${fmt((unitMs - serverMs - s.timing.chipMs) / Math.max(1, s.good), 1)} ms per unit\n`,
    );
    const ok = s.good === TIMED_UNITS && pct < 5;
    process.stdout.write(`  floor (overhead < 5 %): ${ok ? 'PASS' : 'FAIL'}\n`);
    if (!ok) exit = 1;
  }
} finally {
  server?.kill('SIGTERM');
  await sleep(200);
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = exit;
