/**
 * `keyline emulator serve`: serves the chip images in a directory over the kit protocol on TCP,
 * creating blank parts when there are fewer than --count, saving each chip after every command
 * that changed it (before the reply, so a kill never loses a key, a lock or a counter step).
 */
import { resolve } from 'node:path';
import { createLogger } from '../common/log.js';
import { intFlag, parseCommand, runCli, UsageError } from '../common/cli.js';
import { serveSe050Cli } from './se050/serve-cli.js';
import { changesPersistentState, openChipDir, saveStoredChip } from './chip-dir.js';
import { KitServer } from './kit/kit-server.js';
import { listenKitTcp } from './kit/tcp.js';
import { untilStopSignal } from './stop-signal.js';

const USAGE = `Usage: keyline emulator serve [--chip atecc608|se050] [--applet 3.1|7.2] [--chips DIR] [--count N] [--port P] [--host H] [--timing] [--json]

Serves emulated ATECC608 chips over Microchip's ASCII kit protocol on TCP (the default), or
emulated NXP SE050 chips over JRCP v1 (--chip se050), one TCP port per chip.

Options:
  --chip C      atecc608 (default) or se050
  --applet V    SE050 applet version of new parts: 3.1 (default) or 7.2
  --manufacturer-root DIR
                SE050 only: folder of se050-manufacturer-root.pem and .key.pem (default: certs-dev
                when the dev ceremony wrote one there, else the chips folder, made on first use)
  --chips DIR   directory of chip images, one <serial>.json per chip (default var/chips;
                var/se050-chips for --chip se050)
  --count N     create blank chips until DIR holds at least N (default 1)
  --port P      TCP port (default 7777, 8050 for se050 with chip i on P + i; 0 picks free ones)
  --host H      address to listen on (default 127.0.0.1)
  --timing      model the datasheet's execution times (default off: as fast as possible)
  --json        print the ready line as a JSON object
  -h, --help    show this help

ATECC608: device index NN (board:device(NN)) is hex; chip i answers at address (0xC0 + i) mod 256.
SE050: point NXP's middleware at host:port (EX_SSS_BOOT_SSS_PORT=127.0.0.1:8050 or the last argument).`;

/** Entry point for `keyline emulator ...`. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE + '\n');
    return sub ? 0 : 2;
  }
  if (sub !== 'serve') {
    process.stderr.write(`keyline emulator: unknown subcommand '${sub}'\n\n${USAGE}\n`);
    return 2;
  }
  return runCli(async () => {
    const args = parseCommand(rest, {
      usage: USAGE,
      options: {
        chips: { type: 'string' },
        count: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        timing: { type: 'boolean' },
        json: { type: 'boolean' },
        chip: { type: 'string' },
        applet: { type: 'string' },
        'manufacturer-root': { type: 'string' },
      },
    });
    if (!args) return 0;
    const v = args.values;
    const chipKind = v.chip ?? 'atecc608';
    if (chipKind !== 'atecc608' && chipKind !== 'se050') throw new UsageError(`--chip must be atecc608 or se050, got '${chipKind}'`);
    if (chipKind === 'se050') return serveSe050Cli(v);
    if (v.applet !== undefined || v['manufacturer-root'] !== undefined) throw new UsageError('--applet and --manufacturer-root apply to --chip se050 only');
    const dir = resolve(v.chips ?? 'var/chips');
    const count = intFlag('count', v.count, 1, 0, 65536);
    const port = intFlag('port', v.port, 7777, 0, 65535);
    const host = v.host ?? '127.0.0.1';
    const log = createLogger({ name: 'emulator' });

    const stored = await openChipDir(dir, count, { timing: v.timing ?? false });
    const kit = new KitServer({
      chips: stored.map((s) => s.chip),
      honourTiming: v.timing ?? false,
      log,
      afterCommand: (index, frame) => (changesPersistentState(frame, stored[index]!.chip) ? saveStoredChip(stored[index]!) : undefined),
    });
    const listener = await listenKitTcp(kit, { host, port });
    const url = `kit://${listener.host}:${listener.port}`;
    if (v.json) {
      const serials = stored.map((s) => Buffer.from(s.chip.serialNumber).toString('hex'));
      process.stdout.write(JSON.stringify({ url, host: listener.host, port: listener.port, chips: stored.length, dir, serials }) + '\n');
    } else {
      process.stdout.write(`emulator ${url} (${stored.length} chips)\n`);
    }

    await untilStopSignal();
    await listener.close();
    // Every state change was already saved before its reply; this last pass is belt and braces.
    await Promise.all(stored.map((s) => saveStoredChip(s)));
    return 0;
  });
}
