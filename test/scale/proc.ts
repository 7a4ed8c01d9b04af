/**
 * Child processes of the scale run: `keyline <command>` (through bin/keyline.js, as an operator
 * runs it), with stdout kept for the caller, the stderr tail kept for the report, a ready line to
 * wait for, and kill -9 for fault injection. Every child is killed when the runner exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** A running `keyline` child. */
export class KeylineProc {
  stdout = '';
  stderrTail = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly name: string, readonly child: ChildProcess) {
    live.add(child);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-4000)));
    // 'close', not 'exit': only then has every byte of stdout been read.
    this.exited = new Promise((r) => child.once('close', (code, signal) => {
      live.delete(child);
      r({ code, signal });
    }));
  }

  /** Spawns `node bin/keyline.js ...args`. */
  static spawn(name: string, args: string[], env: NodeJS.ProcessEnv = {}): KeylineProc {
    const child = spawn(process.execPath, [resolve(ROOT, 'bin/keyline.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new KeylineProc(name, child);
  }

  /** Runs `keyline ...args` to its end; resolves with the exit code and stdout. */
  static async run(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const p = KeylineProc.spawn(name, args, env);
    const { code } = await p.exited;
    return { code: code ?? 1, stdout: p.stdout, stderr: p.stderrTail };
  }

  /** Resolves with the first stdout match of `pattern`; rejects if the child exits first or after `ms`. */
  async ready(pattern: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    const until = Date.now() + ms;
    for (;;) {
      const m = this.stdout.match(pattern);
      if (m) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready: ${this.stderrTail}`);
      if (Date.now() > until) throw new Error(`${this.name} not ready after ${ms} ms: ${this.stderrTail}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` (SIGKILL = crash, SIGTERM = clean stop) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

/** Polls `ok` every `everyMs` until it is true; throws naming `what` after `ms`. */
export async function until(what: string, ok: () => Promise<boolean> | boolean, ms: number, everyMs = 200): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
