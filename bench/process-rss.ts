/**
 * Resident memory of a process and its descendants (the server's cluster workers), read from
 * /proc (Linux): VmRSS of each, summed. Elsewhere it reads as NaN.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** MiB resident in `pid` and every process below it. */
export function treeRss(pid: number): number {
  try {
    const parent = new Map<number, number>();
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const s = readFileSync(`/proc/${p}/stat`, 'utf8');
        parent.set(Number(p), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // Gone meanwhile.
      }
    }
    const inTree = (p: number): boolean => p === pid || (p > 1 && parent.has(p) && inTree(parent.get(p)!));
    let kib = 0;
    for (const p of parent.keys()) {
      if (!inTree(p)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    }
    return kib / 1024;
  } catch {
    return NaN;
  }
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
