/**
 * A process and everything below it, read from /proc (Linux), so a bench can measure the tree
 * (process-rss.ts) and end it whole. Killing only the child a bench spawned is not enough for
 * `keyline server --workers N`: node:cluster ends a worker when its primary's IPC channel closes,
 * and a bench that stops half-way (a SIGINT, a deadline) must not leave one behind to take the
 * next run's cores. (A worker that hung in its logger's exit flush once its stderr reader was
 * gone, EPIPE retried forever, was the case that showed it; common/log-destination.ts ends that.)
 */
import { readdirSync, readFileSync } from 'node:fs';

/** `pid` and the pids of all its descendants (just `pid` where /proc cannot be read). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  try {
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const s = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
      } catch {
        // Gone meanwhile.
      }
    }
  } catch {
    return [pid];
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/**
 * Sends `signal` to `pid` and every descendant, the whole tree listed first (so no one is
 * re-parented out of it between two kills). Synchronous, for exit handlers; returns the pids signalled.
 */
export function killTree(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): number[] {
  if (pid === undefined) return [];
  const signalled: number[] = [];
  for (const p of processTree(pid)) {
    try {
      process.kill(p, signal);
      signalled.push(p);
    } catch {
      // Already gone.
    }
  }
  return signalled;
}
