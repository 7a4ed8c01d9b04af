/**
 * `keyline emulator serve`: serves the chip images in a directory over the kit protocol on TCP,
 * creating blank parts when there are fewer than --count, saving each chip after every command
 * that changed it (before the reply, so a kill never loses a key, a lock or a counter step).
 */
import { resolve } from 'node:path';
import { createLogger } from '../common/log.js';
import { intFlag, parseCommand, runCli } from '../common/cli.js';
import { changesPersistentState, openChipDir, saveStoredChip } from './chip-dir.js';
import { KitServer } from './kit/kit-server.js';
import { listenKitTcp } from './kit/tcp.js';

const USAGE = `Usage: keyline emulator serve [--chips DIR] [--count N] [--port P] [--host H] [--timing] [--json]

Serves emulated ATECC608 chips over Microchip's ASCII kit protocol on TCP.

Options:
  --chips DIR   directory of chip images, one <serial>.json per chip (default var/chips)
  --count N     create blank chips until DIR holds at least N (default 1)
  --port P      TCP port (default 7777; 0 picks a free one)
  --host H      address to listen on (default 127.0.0.1)
  --timing      model the datasheet's execution times (default off: as fast as possible)
  --json        print the ready line as a JSON object
  -h, --help    show this help

Device index NN (board:device(NN)) is hex; chip i answers at address (0xC0 + i) mod 256.`;

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
      },
    });
    if (!args) return 0;
    const v = args.values;
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
      afterCommand: (index, frame) => (changesPersistentState(frame) ? saveStoredChip(stored[index]!) : undefined),
    });
    const listener = await listenKitTcp(kit, { host, port });
    const url = `kit://${listener.host}:${listener.port}`;
    if (v.json) {
      const serials = stored.map((s) => Buffer.from(s.chip.serialNumber).toString('hex'));
      process.stdout.write(JSON.stringify({ url, host: listener.host, port: listener.port, chips: stored.length, dir, serials }) + '\n');
    } else {
      process.stdout.write(`emulator ${url} (${stored.length} chips)\n`);
    }

    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await listener.close();
    // Every state change was already saved before its reply; this last pass is belt and braces.
    await Promise.all(stored.map((s) => saveStoredChip(s)));
    return 0;
  });
}
