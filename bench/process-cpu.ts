/**
 * Where a benchmark's CPU goes, read from /proc (Linux): the CPU seconds of this process, of
 * each named part among its descendants (the server's workers, Mosquitto), and of the whole
 * machine, so a bench can say per request which part costs what and how much of the machine
 * other processes took meanwhile. Elsewhere every figure reads as 0.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ: clock ticks per second in /proc (100 on Linux/x86 and arm64)

/** CPU seconds so far: per part (descendants grouped by `part`), this process, the machine busy and idle. */
export interface CpuSnapshot {
  parts: Record<string, number>;
  /** Of each part, only its processes' main threads (a Node process's event loop; not its worker threads, GC helpers or libuv pool). */
  loops: Record<string, number>;
  self: number;
  machineBusy: number;
  machineIdle: number;
}

function stat(pid: string, path = `/proc/${pid}/stat`): { ppid: number; comm: string; cpu: number } | null {
  try {
    const s = readFileSync(path, 'utf8');
    // comm may hold spaces and parentheses: the fields after it start at the last ')'.
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' ');
    return { ppid: Number(f[1]), comm: s.slice(s.indexOf('(') + 1, close), cpu: (Number(f[11]) + Number(f[12])) / TICK };
  } catch {
    return null;
  }
}

/**
 * A snapshot of CPU seconds; `part(pid, comm)` names the part a descendant of this process
 * belongs to (its whole subtree counts there), or undefined to look further down.
 */
export function cpuSnapshot(part: (pid: number, comm: string) => string | undefined): CpuSnapshot {
  const snap: CpuSnapshot = { parts: {}, loops: {}, self: 0, machineBusy: 0, machineIdle: 0 };
  let procs: Array<{ pid: number; ppid: number; comm: string; cpu: number }> = [];
  try {
    procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
      const s = stat(p);
      return s ? [{ pid: Number(p), ...s }] : [];
    });
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    snap.machineIdle = ((cpu[3] ?? 0) + (cpu[4] ?? 0)) / TICK;
    snap.machineBusy = cpu.reduce((a, b) => a + b, 0) / TICK - snap.machineIdle;
  } catch {
    return snap;
  }
  const children = new Map<number, typeof procs>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const walk = (pid: number, name: string | undefined) => {
    for (const c of children.get(pid) ?? []) {
      const n = name ?? part(c.pid, c.comm);
      if (n) {
        snap.parts[n] = (snap.parts[n] ?? 0) + c.cpu;
        // The main thread's task has the process's id.
        snap.loops[n] = (snap.loops[n] ?? 0) + (stat(String(c.pid), `/proc/${c.pid}/task/${c.pid}/stat`)?.cpu ?? 0);
      }
      walk(c.pid, n);
    }
  };
  walk(process.pid, undefined);
  snap.self = procs.find((p) => p.pid === process.pid)?.cpu ?? 0;
  return snap;
}

/** CPU seconds spent between two snapshots, per part and in total. */
export function cpuSpent(a: CpuSnapshot, b: CpuSnapshot): CpuSnapshot {
  const diff = (x: Record<string, number>, y: Record<string, number>) =>
    Object.fromEntries([...new Set([...Object.keys(x), ...Object.keys(y)])].map((k) => [k, (y[k] ?? 0) - (x[k] ?? 0)]));
  return { parts: diff(a.parts, b.parts), loops: diff(a.loops, b.loops), self: b.self - a.self, machineBusy: b.machineBusy - a.machineBusy, machineIdle: b.machineIdle - a.machineIdle };
}
