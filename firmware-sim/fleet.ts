/**
 * A batch of devices in the field: boots every chip image in a folder, C at a time, and sums up
 * what happened (enrolled, re-authenticated, refused by the server's code, failed on the device
 * by its code) with enrollment-time percentiles.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChipKind } from '../common/chip-serial.js';
import { KeylineError } from '../common/errors.js';
import { bootAny, type AnyBootOptions, type AnyBootReport } from './cloud/cloud-boot.js';
import { refusalOf } from './cloud/cloud-errors.js';

/** One device's result in a fleet run. */
export type FleetEntry =
  | { chipFile: string; ok: true; report: AnyBootReport }
  | { chipFile: string; ok: false; refused: boolean; code: string; message: string };

/** The fleet's summary. */
export interface FleetSummary {
  devices: number;
  enrolled: number;
  reauthenticated: number;
  /** Accepted devices by the chip they carry (a fleet may mix ATECC608 and SE050 images). */
  chips: Partial<Record<ChipKind, number>>;
  /** Refusals by the enrollment service, by wire code. */
  refused: Record<string, number>;
  /** Failures on the device side (chain, configuration signature, broker), by code. */
  failed: Record<string, number>;
  /** Hello-to-enrolled and power-on-to-enrolled times of the accepted devices, ms. */
  enrollMs: { p50: number; p99: number; max: number };
  bootMs: { p50: number; p99: number };
  seconds: number;
  perSecond: number;
  /** Boots repeated after a failure (--retries). */
  retried?: number;
}

/** The chip images in `dir` (`*.json` of either chip, sorted; device-state files are `*.state`). */
export async function listChipImages(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.json')).sort().map((n) => join(dir, n));
}

/** The q-quantile (nearest rank) of `xs`; 0 for none. */
export function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Boots `chipFiles` with at most `concurrency` in flight, each up to `retries` more times after a failure; `onResult` sees each as it ends. */
export async function bootFleet(
  chipFiles: string[],
  opts: Omit<AnyBootOptions, 'chipFile'> & { concurrency: number; retries?: number; onResult?: (e: FleetEntry) => void },
): Promise<{ summary: FleetSummary; entries: FleetEntry[] }> {
  const started = performance.now();
  let retried = 0;
  const entries: FleetEntry[] = [];
  const bootTimes: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < chipFiles.length) {
      const chipFile = chipFiles[next++]!;
      const t0 = performance.now();
      let e: FleetEntry;
      for (let attempt = 0; ; attempt++) {
        try {
          e = { chipFile, ok: true, report: await bootAny({ ...opts, chipFile }) };
          bootTimes.push(performance.now() - t0);
          break;
        } catch (err) {
          const code = err instanceof KeylineError ? err.code : 'INTERNAL';
          const refusal = refusalOf(err);
          const refused = refusal !== null;
          // A device in the field powers on again after a lost broker or answer; the server
          // makes that idempotent (a second boot re-authenticates). A refusal is final unless
          // the server said when to come back (RATE_LIMITED).
          if (attempt < (opts.retries ?? 0) && (!refusal || refusal.retryAfterSeconds !== undefined)) {
            retried++;
            const wait = refusal?.retryAfterSeconds !== undefined ? refusal.retryAfterSeconds * 1000 : Math.min(200 * 2 ** attempt, 3000);
            await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random() / 2)));
            continue;
          }
          e = { chipFile, ok: false, refused, code, message: (err as Error).message };
          break;
        }
      }
      entries.push(e);
      opts.onResult?.(e);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, chipFiles.length)) }, worker));
  return { summary: { ...summarize(entries, bootTimes, (performance.now() - started) / 1000), retried }, entries };
}

function summarize(entries: FleetEntry[], bootTimes: number[], seconds: number): FleetSummary {
  const ok = entries.flatMap((e) => (e.ok ? [e.report] : []));
  const count = (refused: boolean) => {
    const out: Record<string, number> = {};
    for (const e of entries) if (!e.ok && e.refused === refused) out[e.code] = (out[e.code] ?? 0) + 1;
    return out;
  };
  const enroll = ok.map((r) => r.enrollMs);
  const chips: Partial<Record<ChipKind, number>> = {};
  for (const r of ok) chips[r.chip] = (chips[r.chip] ?? 0) + 1;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    devices: entries.length,
    enrolled: ok.filter((r) => r.outcome === 'enrolled').length,
    reauthenticated: ok.filter((r) => r.outcome === 'reauthenticated').length,
    chips,
    refused: count(true),
    failed: count(false),
    enrollMs: { p50: r1(percentile(enroll, 0.5)), p99: r1(percentile(enroll, 0.99)), max: r1(percentile(enroll, 1)) },
    bootMs: { p50: r1(percentile(bootTimes, 0.5)), p99: r1(percentile(bootTimes, 0.99)) },
    seconds: Number(seconds.toFixed(2)),
    perSecond: Number((ok.length / Math.max(seconds, 1e-6)).toFixed(1)),
  };
}
