/**
 * A registry's call rate shared by every process on the database (replicas, --workers): a cloud
 * quota (AWS RegisterCertificateWithoutCA 10/s, DPS 1,000/min) is per account, not per replica.
 * Each call first takes its turn in this process (registry-call-limiter.ts), then the database slot: the
 * lease `rate:<registry>` taken for 1/rate by a fresh holder, which succeeds only once the
 * previous slot expired. N replicas together therefore stay at the registry's rate; a cloud's
 * Retry-After still pauses the replica that received it (the others receive their own).
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.js';
import { createRegistryCallLimiter, type RegistryCallLimiter } from './registry-call-limiter.js';

/** Options of a shared limiter. */
export interface SharedRegistryCallLimiterOptions {
  store: Store;
  /** The registry's name (the lease is `rate:<name>`). */
  name: string;
  perSecond: number;
  /** Wall clock (ms); leases compare times written by every replica. */
  clock?: () => number;
}

/** Creates a limiter admitting `perSecond` calls per second across all processes on `store`. */
export function createSharedRegistryCallLimiter(o: SharedRegistryCallLimiterOptions): RegistryCallLimiter {
  const clock = o.clock ?? Date.now;
  const local = createRegistryCallLimiter(o.perSecond, clock);
  const intervalMs = 1000 / o.perSecond;
  const lease = `rate:${o.name}`.slice(0, 64);
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    async take() {
      await local.take();
      for (;;) {
        const t = clock();
        // A fresh holder each time: acquire then succeeds only when the last slot has expired.
        const won = await o.store.transaction((tx) => tx.leases.acquire(lease, randomUUID(), iso(t), iso(t + intervalMs)));
        if (won) return;
        const held = await o.store.transaction((tx) => tx.leases.get(lease), { readOnly: true });
        const waitMs = held ? Math.min(1000, Math.max(1, Date.parse(held.until) - clock())) : 1;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    },
    pause(ms) {
      local.pause(ms);
    },
  };
}
