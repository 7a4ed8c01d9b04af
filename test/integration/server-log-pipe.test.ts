/**
 * `keyline server` (one process, and --workers 2) against its log pipe: a reader that goes away
 * (a killed parent, `2>&1 | head -1`) must not keep any process of the tree from stopping on
 * SIGTERM (a worker once spun forever in the logger's exit flush on EPIPE), and a reader that
 * stays gets every line, the last ones logged while stopping included.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeDevPki } from '../helpers/pki.js';
import { alive } from '../helpers/processes.js';
import { processTree as tree } from '../../bench/process-tree.js';

const KEYLINE_BIN = fileURLToPath(new URL('../../bin/keyline.js', import.meta.url));
const STOP_WITHIN_MS = 5000;
const pki = await makeDevPki(t);
const ENV = { ...process.env, KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_ENROLL_PORT: '0', KEYLINE_LOG_LEVEL: 'debug' };

interface Running { child: ChildProcess; pids: number[]; stderr: () => string }

/** Starts the server with stdout and stderr piped; resolves once it printed its listeners (and, with workers, they are up). */
function start(t: Test, workers: number): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEYLINE_BIN, 'server', '--config', pki.configPath, '--workers', String(workers)], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    t.teardown(() => {
      for (const pid of tree(child.pid!)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    });
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      if (/^public \S+$/m.test(out)) resolve({ child, pids: tree(child.pid!), stderr: () => err });
    });
    child.once('exit', (code, signal) => reject(new Error(`server exited ${code ?? signal} before it was ready: ${err}`)));
  });
}

/** SIGTERM, then how it ended: its exit code (null if it had not exited within STOP_WITHIN_MS) and the pids of its tree still alive. */
async function stop(r: Running): Promise<{ code: number | null; left: number[] }> {
  const exited = new Promise<number | null>((resolve) => r.child.once('exit', (code) => resolve(code)));
  r.child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), STOP_WITHIN_MS))]);
  // The workers end with the primary or just after it.
  const deadline = Date.now() + 2000;
  while (r.pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return { code, left: r.pids.filter(alive) };
}

for (const workers of [1, 2]) {
  t.test(`--workers ${workers}: SIGTERM after the stderr reader went away stops every process, exit 0`, async (t) => {
    const r = await start(t, workers);
    // The workers, and whatever else the tree runs (tsx's esbuild service may or may not be up yet).
    t.ok(r.pids.length >= workers + (workers > 1 ? 1 : 0), 'the primary and its workers');
    r.child.stderr!.destroy();
    t.same(await stop(r), { code: 0, left: [] });
  });

  t.test(`--workers ${workers}: a stderr still read gets the lines logged while stopping`, async (t) => {
    const r = await start(t, workers);
    t.same(await stop(r), { code: 0, left: [] });
    const closing = r.stderr().split('\n').filter((l) => l.includes('"HSM signer thread closing"'));
    // The last line each serving process logs before it exits (a worker exits at once after it).
    t.equal(closing.length, workers, 'one per serving process');
    t.equal(new Set(closing.map((l) => (JSON.parse(l) as { pid: number }).pid)).size, workers);
  });
}

t.test('`keyline server --workers 2 2>&1 | head -1`: the pipeline ends once head has its line', async (t) => {
  const sh = spawn('sh', ['-c', `exec "$0" "$1" server --config "$2" --workers 2 2>&1 | head -1`, process.execPath, KEYLINE_BIN, pki.configPath], { env: ENV, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  sh.stdout.on('data', (d) => (out += d));
  t.teardown(() => {
    for (const pid of tree(sh.pid!)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  });
  const code = await Promise.race([new Promise<number | null>((resolve) => sh.once('exit', (c) => resolve(c))), new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 60_000))]);
  t.equal(code, 0, 'head and the server ended');
  t.equal(out.split('\n').filter(Boolean).length, 1, 'head printed its one line');
});

t.test('a command that fails keeps its exit code when its stderr reader is gone (it used to crash with 1 on EPIPE)', async (t) => {
  for (const args of [['server', '--bogus'], ['no-such-command']]) {
    const child = spawn(process.execPath, [KEYLINE_BIN, ...args], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    t.equal(code, 2, `keyline ${args.join(' ')}: exit 2, as with a stderr read`);
  }
});
