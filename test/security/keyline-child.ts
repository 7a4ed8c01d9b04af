/**
 * `keyline server` in a child process for attacks run from outside: free ports for every
 * listener, the printed listener lines (`api`, `public`, `mqtt`) collected, resident memory read
 * from /proc, and a stop that waits for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

const KEYLINE_BIN = fileURLToPath(new URL('../../bin/keyline.js', import.meta.url));

/** A running server process and the URLs it printed. */
export interface KeylineChild {
  child: ChildProcess;
  mqttUrl: string;
  /** Sends SIGTERM and resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Starts the server with `configPath`; resolves once it printed its `mqtt` line; stopped at teardown. */
export function spawnKeyline(t: Test, configPath: string): Promise<KeylineChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEYLINE_BIN, 'server', '--config', configPath], {
      env: { ...process.env, KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_ENROLL_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stop = () => new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
    t.teardown(stop);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^mqtt (\S+)$/m.exec(out);
      if (m) resolve({ child, mqttUrl: m[1]!, stop });
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => reject(new Error(`server exited ${code ?? signal}: ${err}`)));
  });
}

/** VmRSS of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}
