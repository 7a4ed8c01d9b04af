/**
 * Every server call of the line goes through one gate: while the server is unreachable the line
 * pauses (one clear message per retry), backs off exponentially, and resumes by itself when a call
 * gets through. Refusals (4xx) pass straight through: only the link and 503s are waited out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KeylineError } from '../common/errors.js';
import { ApiError } from './api-client.js';

/** Backoff and reporting of the gate. */
export interface ServerGateOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  onPause?: (message: string, delayMs: number) => void;
  onResume?: () => void;
  /** Gives up (rethrows) once set, so a stopping line is not held by a dead server. */
  aborted?: () => boolean;
}

/**
 * True for failures that mean "try again later": no connection, or the server says 503. A
 * REGISTRATION_PENDING 503 concerns one unit's registrations, not the server: UnitClient.confirm
 * handles it without pausing the line.
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 503 && err.code !== 'REGISTRATION_PENDING';
  return err instanceof KeylineError && err.code === 'SERVER_UNREACHABLE';
}

/** Shared by all workers of one line, so they pause and resume together. */
export class ServerGate {
  private readonly initial: number;
  private readonly max: number;
  private delay: number;
  /** Resolves when the current pause ends; null while the server answers. */
  private pausing: Promise<void> | null = null;
  private down = false;

  constructor(private readonly opts: ServerGateOptions = {}) {
    this.initial = opts.initialDelayMs ?? 1000;
    this.max = opts.maxDelayMs ?? 30_000;
    this.delay = this.initial;
  }

  /** Runs `fn`, waiting out unreachability with backoff; other errors are thrown at once. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      if (this.pausing) await this.pausing;
      try {
        const r = await fn();
        this.up();
        return r;
      } catch (err) {
        if (!isUnreachable(err) || this.opts.aborted?.()) throw err;
        // The first worker to fail starts the pause; the others wait for the same one.
        if (!this.pausing) this.pausing = this.pause();
      }
    }
  }

  private async pause(): Promise<void> {
    const d = this.delay;
    this.down = true;
    this.delay = Math.min(this.max, this.delay * 2);
    this.opts.onPause?.(`line paused: server unreachable, retrying in ${formatDelay(d)}`, d);
    await sleep(d);
    this.pausing = null;
  }

  private up(): void {
    this.delay = this.initial;
    if (this.down) {
      this.down = false;
      this.opts.onResume?.();
    }
  }
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}
