import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { openKitTcpDevices } from '../../../secure-element/transports/kit-tcp.js';
import { loadChipImage } from '../../../emulator/atecc608/image.js';
import { AteccDevice } from '../../../secure-element/device.js';
import { InProcessTransport } from '../../../emulator/in-process-transport.js';
import { provision } from '../../secure-element/fixtures.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** Starts `keyline emulator serve` and resolves with the process and its ready line. */
async function serve(args: string[]): Promise<{ proc: ChildProcess; ready: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/keyline.ts'), 'emulator', 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.once('exit', (code) => reject(new Error(`emulator exited early (${code})`)));
  });
  return { proc, ready };
}

t.test('--help', async (t) => {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/keyline.ts'), 'emulator', 'serve', '--help'], { cwd: ROOT });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = await once(proc, 'exit');
  t.equal(code, 0);
  t.match(out, /^Usage: keyline emulator serve/);
});

t.test('serves N chips, persists a key and locks before replying, survives kill -9, stops cleanly on SIGINT', async (t) => {
  const dir = t.testdir();
  const { proc, ready } = await serve(['--chips', dir, '--count', '3', '--port', '0', '--json']);
  t.teardown(() => proc.kill('SIGKILL'));
  const info = JSON.parse(ready) as { url: string; host: string; port: number; chips: number; serials: string[] };
  t.equal(info.chips, 3);
  t.match(info.url, /^kit:\/\/127\.0\.0\.1:\d+$/);
  const files = readdirSync(dir).sort();
  t.equal(files.length, 3);
  t.ok(files.every((f) => /^0123[0-9A-F]{12}EE\.json$/.test(f)), 'named by serial');

  const devs = await openKitTcpDevices(info.host, info.port);
  t.equal(devs.length, 3);
  const first = devs[0]!;
  await provision(first.device);
  const pub = await first.device.genKey(0);
  const count = await first.device.counterIncrement(0);
  await Promise.all(devs.map((d) => d.device.close()));

  // No graceful shutdown: whatever was acknowledged must already be on disk.
  proc.kill('SIGKILL');
  await once(proc, 'exit');
  const file = join(dir, `${first.serial!.toUpperCase()}.json`);
  const chip = await loadChipImage(file);
  const dev = new AteccDevice(new InProcessTransport(chip));
  t.equal(await dev.isLocked('config'), true, 'config lock persisted');
  t.equal(await dev.isLocked('data'), true, 'data lock persisted');
  t.same([...(await dev.getPublicKey(0))], [...pub], 'the GenKey key persisted');
  t.equal(await dev.counterRead(0), count, 'counter persisted');

  // Restart on the same directory: the same chips come back (count below what exists).
  const again = await serve(['--chips', dir, '--count', '1', '--port', '0']);
  t.match(again.ready, /^emulator kit:\/\/127\.0\.0\.1:\d+ \(3 chips\)$/);
  again.proc.kill('SIGINT');
  const [code] = await once(again.proc, 'exit');
  t.equal(code, 0, 'SIGINT stops it cleanly');
});

t.test('a bad flag is a usage error (exit 2)', async (t) => {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/keyline.ts'), 'emulator', 'serve', '--count', 'many'], { cwd: ROOT });
  let err = '';
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = await once(proc, 'exit');
  t.equal(code, 2);
  t.match(err, /--count must be an integer/);
});
