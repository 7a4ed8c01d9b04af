/**
 * The `--chip se050` half of `keyline emulator serve`: flags to ServeSe050Options, the ready
 * line (text, or one JSON object with --json), then serve until SIGINT or SIGTERM.
 */
import { resolve } from 'node:path';
import { intFlag, UsageError } from '../../common/cli.js';
import { createLogger } from '../../common/log.js';
import { serveSe050 } from './serve.js';
import { untilStopSignal } from '../stop-signal.js';

/** The flags `keyline emulator serve` parsed. */
export interface Se050Flags {
  chips?: string;
  count?: string;
  port?: string;
  host?: string;
  timing?: boolean;
  json?: boolean;
  applet?: string;
  'manufacturer-root'?: string;
}

/** Serves SE050 chips until a stop signal; the exit code. */
export async function serveSe050Cli(v: Se050Flags): Promise<number> {
  const applet = v.applet ?? '3.1';
  if (applet !== '3.1' && applet !== '7.2') throw new UsageError(`--applet must be 3.1 or 7.2, got '${applet}'`);
  const dir = resolve(v.chips ?? 'var/se050-chips');
  const service = await serveSe050({
    dir,
    count: intFlag('count', v.count, 1, 0, 4096),
    applet,
    host: v.host ?? '127.0.0.1',
    port: intFlag('port', v.port, 8050, 0, 65535),
    timing: v.timing ?? false,
    ...(v['manufacturer-root'] ? { rootDir: resolve(v['manufacturer-root']) } : {}),
    log: createLogger({ name: 'emulator' }),
  });
  const ports = service.listeners.map((l) => l.port);
  const host = service.listeners[0]?.host ?? v.host ?? '127.0.0.1';
  if (v.json) {
    const uids = service.chips.map((s) => Buffer.from(s.chip.uid).toString('hex').toUpperCase());
    const url = ports.length ? `jrcp://${host}:${ports[0]}` : null;
    process.stdout.write(JSON.stringify({ chip: 'se050', applet, url, host, ports, chips: service.chips.length, dir, uids, manufacturerRoot: service.rootCertPath }) + '\n');
  } else {
    const where = ports.length === 1 ? `jrcp://${host}:${ports[0]}` : `jrcp://${host}:{${ports.join(',')}}`;
    process.stdout.write(`emulator se050 ${where} (${service.chips.length} chips, applet ${applet}, manufacturer root ${service.rootCertPath})\n`);
  }
  await untilStopSignal();
  await service.close();
  return 0;
}
