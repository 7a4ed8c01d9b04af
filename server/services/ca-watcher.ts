/**
 * Keeps a process's view of the CAs current: polls the activations and the root CRL once a
 * second (two single-row reads, as the revocation watcher polls its sequence), so `keyline ca
 * activate` and `keyline ca import-crl` reach every worker and replica within a second, and
 * logs each lifetime warning once (a CA under a threshold, the root CRL nearing its next update,
 * a revoked or missing active CA).
 */
import { silentLogger, type Logger } from '../../common/log.js';
import type { IssuingCas } from './issuing-cas.js';

/** What the watcher needs. */
export interface CaWatcherDeps {
  cas: IssuingCas;
  intervalMs?: number;
  log?: Logger;
}

/** Polls the CA state until stop(). */
export class CaWatcher {
  readonly #d: CaWatcherDeps & { intervalMs: number; log: Logger };
  readonly #warned = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;

  constructor(deps: CaWatcherDeps) {
    this.#d = { intervalMs: 1000, log: silentLogger, ...deps };
  }

  /** Reads the state once, then every interval. */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => {
      this.check().catch((err) => this.#d.log.error({ err }, 'ca state check failed'));
    }, this.#d.intervalMs);
    this.#timer.unref();
  }

  /** Refreshes now (after an activation or import in this process). */
  check(): Promise<void> {
    this.#running ??= (async () => {
      await this.#d.cas.refresh();
      for (const w of this.#d.cas.status().warnings) {
        if (this.#warned.has(w.key)) continue;
        this.#warned.add(w.key);
        this.#d.log.warn({ warning: w.key }, w.message);
      }
    })().finally(() => (this.#running = null));
    return this.#running;
  }

  /** Stops polling and waits for a running check. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
