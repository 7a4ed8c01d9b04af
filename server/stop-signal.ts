/**
 * SIGINT/SIGTERM as a promise for `keyline server` (single process, cluster primary and workers).
 * The handlers stay installed until dispose(): a second signal (Ctrl-C reaches every process of
 * the terminal's group, and the primary then sends SIGTERM too) must not fall through to the
 * default action and kill a process halfway through its clean stop. Each stop is bounded by a
 * deadline instead (server/cli.ts, server/cluster-primary.ts).
 */

/** A pending stop request. */
export interface StopSignal {
  /** Resolves on the first SIGINT or SIGTERM. */
  promise: Promise<void>;
  /** Removes the handlers (signals take their default action again). */
  dispose(): void;
}

/** Listens for SIGINT and SIGTERM from now on. */
export function onStopSignal(): StopSignal {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const handler = () => resolve();
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    promise,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
