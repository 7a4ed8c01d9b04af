/**
 * Running `keyline` (and other tools such as openssl) as child processes from tests, without
 * blocking the event loop: a server may be running in the test's own process and must go on
 * answering them.
 */
import { execFile } from 'node:child_process';
import { KEYLINE_BIN } from './server.js';

/** What a finished command printed and returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout then stderr. */
  out: string;
}

/** Runs a command to completion (2 minutes at most). */
export function runTool(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, out: stdout + stderr });
    });
  });
}

/** Runs `keyline <args>` from the sources (tsx). */
export function runKeyline(args: string[]): Promise<RunResult> {
  return runTool(process.execPath, ['--import', 'tsx', KEYLINE_BIN.replace(/\.js$/, '.ts'), ...args]);
}
