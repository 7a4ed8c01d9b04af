/**
 * Shared bench helpers: percentiles, a bounded-concurrency runner, OpenSSL's own ECDSA figure
 * and child-process start-up, so each benchmark prints ratios against baselines from the same run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** The p-th percentile (0-100) of `xs` in ms. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Runs `total` jobs with at most `concurrency` in flight; returns wall time and per-job latencies. */
export async function runConcurrent(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await job(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - start) / 1000, latencies };
}

/** `openssl speed ecdsap256` sign/s on one core (the figure OpenSSL prints). */
export function opensslEcdsaP256SignPerSec(seconds = 2): number {
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), 'ecdsap256'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  35000.0  12000.0"
  const m = out.match(/ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)/);
  if (!m) throw new Error('could not parse openssl speed output');
  return Number(m[1]);
}

/** Spawns `node bin/keyline.js ...args` and resolves once stdout prints a line matching `ready`. */
export function spawnKeyline(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/keyline.js', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) resolve({ child, match: m });
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (process.env.BENCH_CHILD_STDERR) process.stderr.write(d);
    });
    child.on('exit', (code, signal) => {
      if (code || (signal && signal !== 'SIGTERM')) process.stderr.write(`keyline ${args[0]} exited ${code ?? signal}: ${err.slice(-2000)}\n`);
      reject(new Error(`keyline ${args.join(' ')} exited ${code}`));
    });
  });
}

/** Formats a number with thousands separators. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
