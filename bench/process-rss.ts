/**
 * Resident memory of a process and its descendants (the server's cluster workers), read from
 * /proc (Linux): VmRSS of each, summed. Elsewhere it reads as NaN.
 */
import { readFileSync } from 'node:fs';
import { processTree } from './process-tree.js';

/** MiB resident in `pid` and every process below it. */
export function treeRss(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // Gone meanwhile.
    }
  }
  return kib === 0 ? NaN : kib / 1024;
}

/**
 * Growth in MiB per 100,000 units: the least-squares slope over every sample. The server's RSS
 * swings by tens of MiB with the JavaScript heap between collections, so the difference of the
 * last and first samples alone said "growing" or "shrinking" by where two collections fell.
 */
export function rssSlopePer100k(samples: ReadonlyArray<{ units: number; mib: number }>): number {
  if (samples.length < 2) return NaN;
  const mx = samples.reduce((a, x) => a + x.units, 0) / samples.length;
  const my = samples.reduce((a, x) => a + x.mib, 0) / samples.length;
  const sxy = samples.reduce((a, x) => a + (x.units - mx) * (x.mib - my), 0);
  const sxx = samples.reduce((a, x) => a + (x.units - mx) ** 2, 0);
  return (sxy / sxx) * 100_000;
}
