/**
 * What the operator sees: a live bar on a terminal (units done/failed, units/hour, ETA), plain
 * lines when the output is not a TTY (a log file, a CI job), and the label lines on stdout.
 * Every figure comes from counts the line reports; nothing here decides anything.
 */

/** The final machine-readable summary (`--json`). */
export interface RunSummary {
  workOrder: string;
  station: string;
  target: number;
  /** Good units of this work order in the journal, earlier runs included. */
  good: number;
  /** Good units made by this run. */
  goodThisRun: number;
  quarantined: number;
  possibleClones: number;
  /** Why the run ended: the target reached, the quota reached, no chip left, the operator, or an error. */
  stopReason: 'done' | 'quota-exceeded' | 'no-chips' | 'interrupted' | 'error';
  elapsedSeconds: number;
  unitsPerHour: number;
  quarantinedUnits: Array<{ serial: string; reason: string; possibleClone: boolean }>;
}

/** Where progress goes: `err` for the bar and events, `out` for labels and the summary. */
export interface ProgressOptions {
  target: number;
  alreadyGood: number;
  err: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  out: { write(s: string): unknown };
  /** Plain-line mode: a status line at most this often (ms). */
  plainIntervalMs?: number;
  now?: () => number;
}

/** Formats seconds as h:mm:ss (or m:ss under an hour). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The line's progress display. */
export class Progress {
  good: number;
  goodThisRun = 0;
  failed = 0;
  private readonly start: number;
  private readonly now: () => number;
  private readonly tty: boolean;
  private lastPlain = 0;
  private lastDraw = 0;
  private paused: string | null = null;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? Date.now;
    this.start = this.now();
    this.good = opts.alreadyGood;
    this.tty = opts.err.isTTY === true;
  }

  /** Units per hour made by this run so far. */
  rate(): number {
    const hours = (this.now() - this.start) / 3_600_000;
    return hours > 0 ? this.goodThisRun / hours : 0;
  }

  /** Seconds left at the current rate, or Infinity before the first unit. */
  etaSeconds(): number {
    const r = this.rate();
    return r > 0 ? (Math.max(0, this.opts.target - this.good) / r) * 3600 : Infinity;
  }

  /** One status line: `120/200 good, 2 failed, 5400 units/h, ETA 0:53`. */
  statusText(): string {
    return `${this.good}/${this.opts.target} good, ${this.failed} failed, ${Math.round(this.rate())} units/h, ETA ${formatDuration(this.etaSeconds())}`;
  }

  /** A unit confirmed: its label line goes to stdout (serial, fingerprint). */
  unitGood(serial: string, fingerprintSha256: string): void {
    this.good++;
    this.goodThisRun++;
    this.paused = null;
    this.clearBar();
    this.opts.out.write(`label serial=${serial} fingerprint=${fingerprintSha256}\n`);
    this.tick();
  }

  /** A unit quarantined, with its reason. */
  unitFailed(serial: string, reason: string, possibleClone = false): void {
    this.failed++;
    this.event(`quarantined ${serial}${possibleClone ? ' (possible clone)' : ''}: ${reason}`);
  }

  /** The line is paused (server unreachable); printed once per pause and retry. */
  pause(message: string): void {
    this.paused = message;
    this.event(message);
  }

  /** The line runs again after a pause. */
  resume(message = 'line resumed: server reachable again'): void {
    if (this.paused === null) return;
    this.paused = null;
    this.event(message);
  }

  /** A one-off message on its own line (the bar is redrawn under it). */
  event(message: string): void {
    this.clearBar();
    this.opts.err.write(`${message}\n`);
    this.tick(true);
  }

  /** Ends the display and, with `json`, prints the summary as the last stdout line. */
  finish(summary: RunSummary, json: boolean): void {
    this.clearBar();
    this.opts.err.write(`${this.statusText()}; stopped: ${summary.stopReason}\n`);
    if (json) this.opts.out.write(JSON.stringify(summary) + '\n');
  }

  /** Seconds since this run started. */
  elapsedSeconds(): number {
    return (this.now() - this.start) / 1000;
  }

  private tick(force = false): void {
    const t = this.now();
    if (this.tty) {
      if (!force && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      this.opts.err.write(`\r\x1b[K${this.bar()}`);
    } else if (force ? false : t - this.lastPlain >= (this.opts.plainIntervalMs ?? 2000) || this.good >= this.opts.target) {
      this.lastPlain = t;
      this.opts.err.write(`progress ${this.statusText()}\n`);
    }
  }

  private bar(): string {
    const width = Math.max(10, Math.min(40, (this.opts.err.columns ?? 80) - 60));
    const filled = Math.min(width, Math.round((this.good / Math.max(1, this.opts.target)) * width));
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.statusText()}${this.paused ? ' (paused)' : ''}`;
  }

  private clearBar(): void {
    if (this.tty) this.opts.err.write('\r\x1b[K');
  }
}
