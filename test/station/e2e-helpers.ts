/**
 * End-to-end fixtures for the station: the real server (SoftHSM, SQLite) started in this
 * process, emulated chips served over the kit TCP protocol from this process, and the station
 * itself spawned as `node bin/keyline.js station run` so it can be SIGKILLed for real.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Test } from 'tap';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import { KitServer } from '../../emulator/kit/kit-server.js';
import { listenKitTcp } from '../../emulator/kit/tcp.js';
import { startServer } from '../../server/main.js';
import { StationApiClient, loadIdentity } from '../../station/api-client.js';
import { makeDevPki, type TestPki } from '../helpers/pki.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** A running server with its PKI and an operator's client (work orders, reading units). */
export interface E2eServer {
  pki: TestPki;
  apiUrl: string;
  api: StationApiClient;
  createWorkOrder(id: string, quota: number): Promise<void>;
}

/** Builds the dev PKI, starts the server on a free port, and returns a client. */
export async function startE2eServer(t: Test): Promise<E2eServer> {
  const pki = await makeDevPki(t);
  const server = await startServer({ configFile: pki.configPath, env: { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'silent' } });
  t.teardown(() => server.close());
  const api = new StationApiClient(loadIdentity({ baseUrl: server.apiUrl, certFile: pki.operatorCertPath, keyFile: pki.operatorKeyPath, caFile: pki.rootCertPath }));
  t.teardown(() => api.close());
  return {
    pki,
    apiUrl: server.apiUrl,
    api,
    async createWorkOrder(id, quota) {
      await api.createWorkOrder({ id, product: 'Sensor', quota });
    },
  };
}

/** Serves `chips` over the kit protocol on a free TCP port; returns `HOST:PORT`. */
export async function serveChips(t: Test, chips: Atecc608Chip[]): Promise<string> {
  const kit = new KitServer({ chips, honourTiming: false });
  const l = await listenKitTcp(kit, { port: 0 });
  t.teardown(() => l.close());
  return `${l.host}:${l.port}`;
}

/** What a station process did. */
export interface StationRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The `--json` summary (last stdout line), when the run got that far. */
  summary?: Record<string, unknown> & { good: number; quarantined: number; stopReason: string };
  labels: string[];
}

/** Spawns `keyline station <args>` with the PKI's config and extra environment. */
export function station(e: E2eServer, args: string[], env: Record<string, string> = {}, onStderr?: (chunk: string) => void): Promise<StationRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/keyline.js'), 'station', ...args, '--config', e.pki.configPath], {
      cwd: ROOT,
      env: { ...process.env, KEYLINE_STATION_SERVER_URL: e.apiUrl, KEYLINE_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      onStderr?.(c);
    });
    child.on('error', fail);
    const t0 = Date.now();
    child.on("close", (code, signal) => {
      if (process.env.E2E_DEBUG) process.stderr.write(`[station ${args.slice(0, 3).join(" ")} took ${Date.now() - t0} ms]\n${stderr}\n`);
      const lines = stdout.trim().split('\n').filter(Boolean);
      const last = lines.at(-1);
      const run: StationRun = { code, signal, stdout, stderr, labels: lines.filter((l) => l.startsWith('label ')) };
      if (last?.startsWith('{')) run.summary = JSON.parse(last);
      done(run);
    });
  });
}

/** The serial of an emulated chip as the journal and the server write it. */
export const serialOf = (c: Atecc608Chip) => Buffer.from(c.serialNumber).toString('hex').toUpperCase();
