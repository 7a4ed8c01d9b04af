/**
 * A per-registry call-rate limiter for the outbox: callers take turns, and each turn starts at
 * least 1/rate after the previous one (measured when the turn is handed out, so a late timer
 * never lets two calls bunch up). A cloud's throttling answer (Retry-After) pushes every later
 * call back too, since the quota it reports is shared by all calls to that registry.
 * The limit is per process: N replicas sharing one cloud quota should each get rate/N.
 */

/** Spaces calls to one registry. */
export interface RegistryCallLimiter {
  /** Resolves when the caller may make its call (reserving that turn). */
  take(): Promise<void>;
  /** No call before `ms` from now (the registry asked us to wait). */
  pause(ms: number): void;
}

/** Creates a limiter admitting `perSecond` calls per second; unlimited (pauses only) when undefined. */
export function createRegistryCallLimiter(perSecond: number | undefined, clock: () => number = Date.now): RegistryCallLimiter {
  const interval = perSecond !== undefined && Number.isFinite(perSecond) && perSecond > 0 ? 1000 / perSecond : 0;
  let last = -Infinity;
  let pausedUntil = -Infinity;
  let queue: Promise<void> = Promise.resolve();
  return {
    take() {
      if (interval === 0 && clock() >= pausedUntil) return Promise.resolve();
      const turn = queue.then(async () => {
        for (;;) {
          const now = clock();
          const due = Math.max(last + interval, pausedUntil);
          if (now >= due) {
            last = now;
            return;
          }
          await new Promise((r) => setTimeout(r, Math.ceil(due - now)));
        }
      });
      queue = turn;
      return turn;
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, clock() + ms);
    },
  };
}
