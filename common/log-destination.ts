/**
 * Where a process's log lines go (stderr): lines logged in one loop turn are written together,
 * synchronously, at the end of the turn, and whatever is still queued when the process exits is
 * written then, so a reader gets every line, the last ones included. A reader that went away
 * (EPIPE: a killed parent, `keyline server 2>&1 | head -1`) ends logging for the rest of the
 * process: lines are dropped, never retried. pino's own destination (sonic-boom 4) retried EPIPE
 * forever in its exit flush, so a process whose log pipe was closed never exited.
 */
import { writeSync } from 'node:fs';

/** Queued bytes past which new lines are dropped (a reader that stopped reading but keeps the pipe open). */
const MAX_QUEUED = 4 * 1024 * 1024;
/** How long the exit flush waits, in all, for a full pipe (EAGAIN) to drain before it drops the rest. */
const EXIT_WAIT_MS = 1000;
/** Pause between two tries at a full pipe. */
const RETRY_MS = 10;

/** A pino destination over a file descriptor that never blocks exit and never throws. */
export class LogDestination {
  readonly fd: number;
  #queue: string[] = [];
  #queued = 0;
  /** Bytes of a line only partly written (a full non-blocking pipe took part of it). */
  #rest: Buffer | undefined;
  #scheduled = false;
  #broken = false;
  /** Lines dropped because the queue was full or the reader gone. */
  dropped = 0;

  constructor(fd: number) {
    this.fd = fd;
    process.on('exit', () => this.flushSync());
  }

  /** False once the reader is gone: nothing more will be written. */
  get writable(): boolean {
    return !this.#broken;
  }

  /** pino's stream interface: one serialised line (with its newline). */
  write(line: string): boolean {
    if (this.#broken || this.#queued + (this.#rest?.length ?? 0) > MAX_QUEUED) {
      this.dropped++;
      return true;
    }
    this.#queue.push(line);
    this.#queued += line.length;
    this.#schedule(0);
    return true;
  }

  /** Writes what is queued now; `cb` runs after (pino's logger.flush). */
  flush(cb?: (err?: Error) => void): void {
    this.#writeQueued();
    cb?.();
  }

  /** Writes everything queued before returning, waiting up to EXIT_WAIT_MS for a full pipe; drops the rest. */
  flushSync(): void {
    const deadline = Date.now() + EXIT_WAIT_MS;
    while (!this.#writeQueued() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_MS);
    if (this.#rest || this.#queue.length) this.#drop();
  }

  #schedule(delayMs: number): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      if (!this.#writeQueued()) this.#schedule(RETRY_MS);
    };
    // The exit flush writes whatever is left, so a pending retry must not keep the process up.
    if (delayMs > 0) setTimeout(run, delayMs).unref();
    else setImmediate(run);
  }

  /** Writes the queue; true when all is written (or dropped), false when the pipe is full for now. */
  #writeQueued(): boolean {
    for (;;) {
      if (this.#broken) return true;
      let buf = this.#rest;
      this.#rest = undefined;
      if (!buf) {
        if (this.#queue.length === 0) return true;
        buf = Buffer.from(this.#queue.join(''));
        this.#queue = [];
        this.#queued = 0;
      }
      try {
        while (buf.length > 0) buf = buf.subarray(writeSync(this.fd, buf));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          // A non-blocking pipe that is full: keep the bytes for the next try (lines queued meanwhile follow them).
          this.#rest = buf;
          return false;
        }
        // EPIPE (reader gone), EBADF, EIO...: no one can read what follows, and there is no one to tell.
        this.#broken = true;
        this.#drop();
        return true;
      }
    }
  }

  #drop(): void {
    this.dropped += this.#queue.length + (this.#rest ? 1 : 0);
    this.#queue = [];
    this.#queued = 0;
    this.#rest = undefined;
  }
}

let stderr: LogDestination | undefined;

/** The process's one stderr destination, shared by every logger it creates. */
export function stderrDestination(): LogDestination {
  stderr ??= new LogDestination(2);
  return stderr;
}
