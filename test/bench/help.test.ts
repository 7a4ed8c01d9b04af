/**
 * Every bench that is an npm script answers --help with its usage and exit 0 without starting
 * anything (no server, broker, PKI or temp folder), and an option it does not parse with one line
 * and exit 2 (issue 13: benches that run; every command has --help). Each bench runs as a child
 * through tsx, as `npm run bench:...` runs it; the benches themselves are not run here.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const root = new URL('../../', import.meta.url).pathname;

/** Each npm script's bench, and the script whose options it parses (bench:issue --via est hands over to bench/est.ts). */
const benches = [
  { script: 'bench:issue', file: 'issue.ts', parses: 'issue.ts', before: [] as string[] },
  { script: 'bench:issue', file: 'issue.ts', parses: 'est.ts', before: ['--via', 'est'] },
  { script: 'bench:emulator', file: 'emulator.ts', parses: 'emulator.ts', before: [] },
  { script: 'bench:line', file: 'line.ts', parses: 'line.ts', before: [] },
  { script: 'bench:ocsp', file: 'ocsp.ts', parses: 'ocsp.ts', before: [] },
  { script: 'bench:enroll', file: 'enroll.ts', parses: 'enroll.ts', before: [] },
  { script: 'bench:scale', file: 'scale.ts', parses: 'scale.ts', before: [] },
];

/** The long options a bench script declares to parseArgs (read from its source). */
function parsedOptions(file: string): string[] {
  const src = readFileSync(join(root, 'bench', file), 'utf8');
  return [...src.matchAll(/([a-z][a-z-]*|'[a-z-]+'): \{ type: '(?:string|boolean)'/g)].map((m) => m[1]!.replace(/'/g, ''));
}

/** Processes still running that carry `marker` in their environment (anything a bench started inherits it). */
function carrying(marker: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(marker)) pids.push(Number(d));
    } catch {
      // Gone meanwhile, or another user's.
    }
  }
  return pids;
}

/** What the bench made in its TMPDIR, leaving out tsx's own compile cache (tsx-<uid>). */
const madeIn = (tmp: string) => readdirSync(tmp).filter((f) => !/^tsx-\d+$/.test(f));

/** Runs `node --import tsx bench/<file> ...args` with its own TMPDIR and a marker in its environment. */
function runBench(file: string, args: string[], tmp: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; marker: string }> {
  const marker = `KEYLINE_BENCH_HELP_TEST=${randomBytes(8).toString('hex')}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join('bench', file), ...args], {
    cwd: root, env: { ...process.env, TMPDIR: tmp, KEYLINE_BENCH_HELP_TEST: marker.split('=')[1] }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A bench that ignored --help would run for minutes: stop it (the assertions then fail).
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(kill);
    resolve({ code, stdout, stderr, ms: performance.now() - t0, marker });
  }));
}

for (const b of benches) {
  const name = [b.script, ...b.before].join(' ');
  const command = ['npm run', b.script, '--', ...b.before].join(' ');

  t.test(`${name} --help: the usage, exit 0, nothing started`, async (t) => {
    const tmp = t.testdir();
    const r = await runBench(b.file, [...b.before, '--help'], tmp);
    const leftover = carrying(r.marker);
    t.teardown(() => leftover.forEach((pid) => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }));
    t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(0, 500)})`);
    t.ok(r.ms < 20_000, `returned in ${Math.round(r.ms)} ms: nothing was started`);
    t.same(leftover, [], 'no process it started is still running');
    t.same(madeIn(tmp), [], 'no temp folder made');
    t.ok(r.stdout.startsWith(`${command} [options]\n`), `starts with '${command} [options]'`);
    t.match(r.stdout, `flock /tmp/keyline-bench.lock npm run ${b.script}`, 'says how to run it alone');
    t.match(r.stdout, /baseline/i, 'names its baseline');
    const options = parsedOptions(b.parses);
    t.ok(options.includes('json'), `${b.parses} parses --json`);
    for (const o of options) t.match(r.stdout, new RegExp(`--${o}\\b`), `lists --${o}`);
    t.match(r.stdout, /--help\s+this text/, 'lists --help');
  });

  t.test(`${name} with an option it does not parse: one line, exit 2`, async (t) => {
    const tmp = t.testdir();
    const r = await runBench(b.file, [...b.before, '--no-such-option'], tmp);
    t.equal(r.code, 2, 'exit 2');
    t.equal(r.stderr, `${b.script}: unknown option '--no-such-option' (${command} --help lists the options)\n`, 'one line naming the option and --help');
    t.equal(r.stdout, '', 'nothing on stdout');
    t.same(carrying(r.marker), [], 'nothing left running');
    t.same(madeIn(tmp), [], 'no temp folder made');
  });
}
