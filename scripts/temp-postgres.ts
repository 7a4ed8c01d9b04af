/**
 * A throw-away PostgreSQL cluster for tests, `npm run test:scale` and `npm run bench:scale`:
 * initdb in a temp dir, postgres on 127.0.0.1 on a free port, removed again by stop() or when the
 * process exits. Never for production data: it runs with fsync off and trust authentication.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { KeylineError } from '../common/errors.js';
import { PG_SYSTEM_USER, pgRunAs, requirePgBinDir } from './pg-binaries.js';

/** A running throw-away cluster. */
export interface TempPostgres {
  /** URL of the `postgres` maintenance database (superuser `postgres`, no password). */
  url: string;
  port: number;
  /** Stops the server (immediate shutdown) and removes its directory. */
  stop(): Promise<void>;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
}

/** Options: `dir` is the parent of the cluster's temp dir (default os.tmpdir()); `log` receives server log lines. */
export interface TempPostgresOptions {
  dir?: string;
  log?: (line: string) => void;
}

const live = new Set<() => void>();
let exitHookInstalled = false;

/** Starts a throw-away cluster; see TempPostgres. */
export async function startTempPostgres(opts: TempPostgresOptions = {}): Promise<TempPostgres> {
  const bin = requirePgBinDir();
  const runAs = pgRunAs();
  const parent = opts.dir ?? tmpdir();
  const ids = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
  // The cluster's user must be able to reach its directory (a TMPDIR under /root would not do).
  if (runAs && spawnSync('test', ['-x', parent], ids).status !== 0) {
    throw new KeylineError('STORE_ERROR', `temp PostgreSQL: ${parent} is not searchable by user ${PG_SYSTEM_USER}; pass opts.dir or set TMPDIR to a world-searchable directory`);
  }
  const dir = mkdtempSync(join(parent, 'keyline-pg-'));
  const data = join(dir, 'data');
  // A unix socket path is limited to 107 bytes (sun_path); a deep dir (tap's fixture dirs) gets
  // its socket in a short dir of its own under /tmp.
  const sockets = dir.length + '/.s.PGSQL.65535'.length <= 100 ? dir : mkdtempSync('/tmp/kpg-');
  const dirs = sockets === dir ? [dir] : [dir, sockets];
  const removeDirs = (): void => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); };
  if (runAs) for (const d of dirs) chownSync(d, runAs.uid, runAs.gid);
  const tail: string[] = [];
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    opts.log?.(line);
  };
  try {
    // --no-sync: initdb skips its own fsyncs, for the same reason fsync=off below.
    const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--auth=trust'],
      { ...ids, cwd: dir, encoding: 'utf8' });
    if (init.status !== 0) throw new KeylineError('STORE_ERROR', `initdb failed in ${dir} (exit ${init.status}): ${(init.stderr || String(init.error ?? '')).trim().slice(-800)}`);
    // Trust, but reachable only over the temp dir's unix socket and 127.0.0.1 (listen_addresses
    // below): a throw-away cluster on loopback with nothing worth a password.
    writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    // fsync/synchronous_commit/full_page_writes off: a test cluster wants speed, not durability;
    // a crash loses it entirely anyway, and it is deleted afterwards.
    appendFileSync(join(data, 'postgresql.conf'), [
      "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${sockets}'`, 'fsync = off', 'synchronous_commit = off',
      'full_page_writes = off', 'max_connections = 200', 'shared_buffers = 32MB', 'logging_collector = off', '',
    ].join('\n'));
  } catch (err) {
    removeDirs();
    throw err;
  }

  // A free port can be taken between probing and binding: retry a few times on "could not bind".
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port)], { ...ids, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    pipeLines(child, onLine);
    const cleanup = cleanupFor(child, removeDirs);
    live.add(cleanup);
    installExitHook();
    const watchdog = startWatchdog(child.pid, dirs);
    try {
      await waitReady(child, port, tail);
    } catch (err) {
      live.delete(cleanup);
      await stopChild(child);
      watchdog?.kill('SIGKILL');
      if (attempt < 3 && tail.some((l) => /could not bind|Address already in use/.test(l))) continue;
      removeDirs();
      throw err;
    }
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let stopped: Promise<void> | undefined;
    return {
      url, port,
      stop: () => (stopped ??= (async () => {
        live.delete(cleanup);
        await stopChild(child);
        watchdog?.kill('SIGKILL');
        removeDirs();
      })()),
      createDatabase: async (name) => {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new KeylineError('VALIDATION_FAILED', `database name ${JSON.stringify(name)} must match [a-z_][a-z0-9_]*`);
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          await c.query(`CREATE DATABASE ${name}`);
        } finally {
          await c.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
    };
  }
}

function pipeLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const s of [child.stdout, child.stderr]) {
    let buf = '';
    s?.setEncoding('utf8');
    s?.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l) onLine(l);
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitReady(child: ChildProcess, port: number, tail: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new KeylineError('STORE_ERROR', `postgres exited during start-up on port ${port}: ${tail.slice(-5).join(' | ')}`);
    }
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new KeylineError('STORE_ERROR', `postgres did not accept connections on port ${port} within 30 s: ${tail.slice(-5).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGQUIT is PostgreSQL's immediate shutdown: no checkpoint, which a throw-away cluster does not need. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function cleanupFor(child: ChildProcess, removeDirs: () => void): () => void {
  return () => {
    try { child.kill('SIGQUIT'); } catch { /* already gone */ }
    try { removeDirs(); } catch { /* best effort at exit */ }
  };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' covers normal ends and uncaught exceptions; the watchdog covers SIGKILL/SIGTERM.
  process.on('exit', () => { for (const c of live) c(); });
}

/**
 * A detached shell that outlives us and stops the postmaster once our process is gone, so a
 * test killed by a signal (tap's timeout sends SIGTERM, which skips 'exit') leaves no postmaster.
 */
function startWatchdog(pgPid: number | undefined, dirs: string[]): ChildProcess | undefined {
  if (!pgPid) return undefined;
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -QUIT "$2" 2>/dev/null; sleep 1; shift 2; rm -rf "$@"';
  const w = spawn('sh', ['-c', script, 'keyline-pg-watchdog', String(process.pid), String(pgPid), ...dirs], { detached: true, stdio: 'ignore' });
  w.unref();
  return w;
}
