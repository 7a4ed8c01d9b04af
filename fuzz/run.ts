/**
 * npm run fuzz -- [--target T[,T…]] [--runs N] [--seconds S] [--seed N] [--path P] [--stats] [--json] [--help]
 *
 * Drives each entry point with generated hostile input (fast-check) and prints, per target, the
 * inputs judged, the seconds, inputs/s, heap growth, and any failure with the seed and path that
 * replay it. Defaults: every target, 100,000 inputs each, at most 300 s each, a random seed.
 * Exits 1 when any target failed or fell short of --runs inside --seconds.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { KNOWN, runTarget, type FuzzResult } from './harness.js';
import { TARGETS } from './targets/index.js';

const USAGE = `Usage: npm run fuzz -- [options]

  --target T[,T…]  targets to run (default: all): ${TARGETS.map((t) => t.name).join(', ')}
  --runs N         inputs per target (default 100000)
  --seconds S      wall-clock cap per target (default 300); a target stopped short fails
  --seed N         fast-check seed (default: random, printed)
  --path P         with --seed: replay one failing input (fast-check counterexample path)
  --stats          also print how inputs ended per target (outcome labels), to see what is reached
  --json           one JSON document instead of the table
  --help           this text

Targets:
${TARGETS.map((t) => `  ${t.name.padEnd(14)} ${t.summary}`).join('\n')}
`;

const out = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<number> {
  const { values: o } = parseArgs({
    options: {
      target: { type: 'string' }, runs: { type: 'string' }, seconds: { type: 'string' }, seed: { type: 'string' },
      path: { type: 'string' }, json: { type: 'boolean' }, stats: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (o.help) {
    out(USAGE);
    return 0;
  }
  const names = o.target ? o.target.split(',').map((s) => s.trim()).filter(Boolean) : TARGETS.map((t) => t.name);
  const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown target ${unknown.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  const runs = Number(o.runs ?? 100_000);
  const seconds = Number(o.seconds ?? 300);
  const seed = o.seed !== undefined ? Number(o.seed) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  if (!Number.isInteger(runs) || runs < 1 || !(seconds > 0) || !Number.isInteger(seed)) {
    process.stderr.write(`--runs must be a positive integer, --seconds positive, --seed an integer\n\n${USAGE}`);
    return 2;
  }
  if (o.path !== undefined && o.seed === undefined) {
    process.stderr.write('--path needs the --seed of the run that printed it\n');
    return 2;
  }
  const results: FuzzResult[] = [];
  const started = performance.now();
  if (!o.json) out(`fuzz: seed ${seed}, ${runs} inputs per target, at most ${seconds} s each${o.path ? `, replaying path ${o.path}` : ''}`);
  for (const name of names) {
    const target = TARGETS.find((t) => t.name === name)!;
    const r = await runTarget(target, { runs, seconds, seed, ...(o.path ? { path: o.path } : {}) });
    results.push(r);
    if (!o.json) out(line(r, runs));
    if (!o.json && o.stats) out(Object.entries(r.outcomes).map(([k, n]) => `        ${String(n).padStart(8)}  ${k}`).join('\n'));
  }
  const total = (performance.now() - started) / 1000;
  const short = results.filter((r) => !r.failure && r.runs < runs && !o.path);
  const failed = results.filter((r) => r.failure);
  if (o.json) {
    out(JSON.stringify({ seed, runsPerTarget: runs, secondsCap: seconds, totalSeconds: round(total), results: results.map((r) => ({ ...r, seconds: round(r.seconds), perSecond: Math.round(r.perSecond) })) }, null, 2));
  } else {
    for (const r of failed) {
      const f = r.failure!;
      out(`\n${r.target}: ${f.kind} failure: ${f.message}`);
      if (f.input) out(`  input: ${f.input}`);
      out(`  replay: npm run fuzz -- --target ${r.target} --seed ${f.seed}${f.path ? ` --path ${f.path}` : ''}`);
    }
    for (const r of short) out(`\n${r.target}: only ${r.runs} of ${runs} inputs in ${seconds} s`);
    out(`\n${results.length - failed.length - short.length} passed, ${failed.length + short.length} failed, ${round(total)} s in all`);
  }
  return failed.length || short.length ? 1 : 0;
}

function line(r: FuzzResult, want: number): string {
  const status = r.failure ? 'FAIL' : r.runs < want ? 'SHORT' : 'ok';
  const known = Object.entries(r.outcomes).filter(([k]) => k.startsWith(KNOWN));
  const knownText = known.length ? `  reported findings hit: ${known.map(([k, n]) => `${n} × ${k.slice(KNOWN.length)}`).join('; ')}` : '';
  return `${status.padEnd(5)} ${r.target.padEnd(14)} ${String(r.runs).padStart(8)} inputs ${r.seconds.toFixed(1).padStart(7)} s ${String(Math.round(r.perSecond)).padStart(8)} inputs/s  heap ${(r.heapGrowthBytes / 1048576).toFixed(1)}/${(r.heapBoundBytes / 1048576).toFixed(0)} MiB${knownText}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  process.stderr.write(`fuzz: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
