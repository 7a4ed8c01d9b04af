/**
 * `npm run bench:emulator -- [--seconds S] [--json]`: Sign and GenKey commands/s on the emulated
 * ATECC608, in-process (raw frames and through the driver) and over the kit protocol on TCP
 * (against a real `keyline emulator serve` child process), with node's crypto.sign/s measured in
 * the same run as the baseline. Timing model off. Runs in well under 30 s; compare ratios, not
 * absolute figures.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { benchArgs } from './lib.js';
import { createBlankChip } from '../emulator/atecc608/factory.js';
import type { Atecc608Chip } from '../emulator/atecc608/chip.js';
import { AteccDevice, lockSummaryCrc } from '../secure-element/device.js';
import { encodeCommand } from '../secure-element/packet.js';
import { InProcessTransport } from '../emulator/in-process-transport.js';
import { openKitTcpDevices } from '../secure-element/transports/kit-tcp.js';

const o = benchArgs('bench:emulator', `npm run bench:emulator -- [options]

Sign and GenKey commands/s on the emulated ATECC608 (timing model off): in-process as raw frames
and through the driver, then over the kit protocol on TCP against a \`keyline emulator serve\`
child (4 chips; GenKey persisted to the chip image as in production). Baseline from the same run:
node's crypto.sign/s (P-256, SHA-256); every figure is printed as a ratio to it. PASS/FAIL: Sign
through the driver in-process >= 10,000/s (issue 14; exit 1 below it). Takes well under 30 s.
Run it alone: flock /tmp/keyline-bench.lock npm run bench:emulator

  --seconds S   time per measurement after a 300-operation warm-up (default 1.5, or BENCH_SECONDS)
  --json        one JSON document on stdout (figures, baseline, ratios, checks, pass); progress
                lines go to stderr either way
  --help        this text
`, { seconds: { type: 'string' }, json: { type: 'boolean' } });
const SECONDS = Number(o.seconds ?? process.env.BENCH_SECONDS ?? 1.5);
if (!(SECONDS > 0)) {
  process.stderr.write(`bench:emulator: --seconds must be a number above 0, got '${o.seconds ?? process.env.BENCH_SECONDS}'\n`);
  process.exit(2);
}
// Issue 14's bar for the in-process Sign path through the driver (an idle 2-core machine; a loaded
// one can fall below it, so compare with the node baseline of the same run).
const FLOOR_SIGN_PER_S = 10_000;

// cryptoauthlib's 608 test configuration (3.7, test/api_calib/test_calib_config.c). The bench signs
// with slot 2 (its TEST_TYPE_ECC_SIGN key, GenKey may recreate it): slot 0 there is a limited-use
// key whose every Sign advances counter 0, which `keyline emulator serve` must then persist.
const SLOT = 2;
const CONFIG = Buffer.from(
  '01230000000060000405060 7EE010100C000A100AF2FC4448720C4F48F0F0F0F9F8F8364C444C4640F0F0F0F0F0F0F0F'.replace(/ /g, '') +
    '0F0F0F0FFFFFFFFF00000000FFFFFFFF00000000FF8403BC09697600000000000000000000000000FFFF0E4000000000' +
    '33001C0013001C003C003A101C0033001C001C00380030003C003C0032003000',
  'hex',
);

async function provision(dev: AteccDevice): Promise<void> {
  await dev.writeConfigZone(CONFIG);
  await dev.lockConfigZone(lockSummaryCrc(await dev.readConfigZone()));
  await dev.lockDataZone();
  await dev.genKey(SLOT);
}

/** Runs `op` (with `conc` in flight) for SECONDS; returns operations per second. */
async function rate(op: (i: number) => Promise<unknown> | unknown, conc = 1): Promise<number> {
  // Warm-up so the JIT has compiled the path before the clock starts.
  for (let i = 0; i < 300; i++) await op(i % conc);
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async (_, w) => {
      while (performance.now() < end) {
        await op(w);
        n++;
      }
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

const rows: { name: string; perS: number }[] = [];
function row(name: string, perS: number): void {
  rows.push({ name, perS });
  process.stderr.write(`  ${name}: ${Math.round(perS)}/s\n`);
}

// Baseline: node signing SHA-256 of a short message with a P-256 key.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const msg = Buffer.from('keyline bench');
const nodeSign = await rate(() => sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
row('node crypto.sign (baseline)', nodeSign);

// In-process: the chip alone (pre-encoded frames) and through the driver.
const chip: Atecc608Chip = createBlankChip();
const dev = new AteccDevice(new InProcessTransport(chip));
await provision(dev);
const digest = createHash('sha256').update(msg).digest();
const nonceFrame = encodeCommand({ opcode: 0x16, param1: 0x03, param2: 0, data: digest });
const signFrame = encodeCommand({ opcode: 0x41, param1: 0x80, param2: SLOT, data: new Uint8Array() });
const genFrame = encodeCommand({ opcode: 0x40, param1: 0x04, param2: SLOT, data: new Uint8Array() });
const rawSign = await rate(() => {
  chip.wake();
  chip.execute(nonceFrame);
  const r = chip.execute(signFrame).response;
  chip.idle();
  if (!r || r.length !== 67) throw new Error('raw Sign failed');
});
row('Sign, in-process, raw frames', rawSign);
const drvSign = await rate(() => dev.signDigest(SLOT, digest));
row('Sign, in-process, driver', drvSign);
const rawGen = await rate(() => {
  chip.wake();
  const r = chip.execute(genFrame).response;
  chip.idle();
  if (!r || r.length !== 67) throw new Error('raw GenKey failed');
});
row('GenKey, in-process, raw frames', rawGen);
const drvGen = await rate(() => dev.genKey(SLOT));
row('GenKey, in-process, driver', drvGen);

// Kit protocol over TCP, against `keyline emulator serve` in its own process (it persists each
// GenKey to its image file before replying, as in production).
const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-'));
const root = new URL('../', import.meta.url).pathname;
const server = spawn(process.execPath, ['--import', 'tsx', join(root, 'bin/keyline.ts'), 'emulator', 'serve', '--chips', dir, '--count', '4', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
const [first] = (await once(server.stdout!, 'data')) as [Buffer];
const { host, port } = JSON.parse(first.toString().split('\n')[0]!) as { host: string; port: number };
const kits = await openKitTcpDevices(host, port, { readSerial: false });
await Promise.all(kits.map((k) => provision(k.device)));
const one = kits[0]!.device;
row('Sign, kit TCP, 1 connection', await rate(() => one.signDigest(SLOT, digest)));
row(`Sign, kit TCP, ${kits.length} connections/chips`, await rate((w) => kits[w]!.device.signDigest(SLOT, digest), kits.length));
row('GenKey, kit TCP, 1 connection (persisted)', await rate(() => one.genKey(SLOT)));
row(`GenKey, kit TCP, ${kits.length} connections/chips (persisted)`, await rate((w) => kits[w]!.device.genKey(SLOT), kits.length));
await Promise.all(kits.map((k) => k.device.close()));
server.kill('SIGTERM');
await once(server, 'exit');
rmSync(dir, { recursive: true, force: true });

// Report.
const w = Math.max(...rows.map((r) => r.name.length));
const lines = [
  `${'measurement'.padEnd(w)}  ${'ops/s'.padStart(9)}  ${'µs/op'.padStart(8)}  ${'vs node sign'.padStart(12)}`,
  ...rows.map((r) => `${r.name.padEnd(w)}  ${Math.round(r.perS).toString().padStart(9)}  ${(1e6 / r.perS).toFixed(1).padStart(8)}  ${(r.perS / nodeSign).toFixed(3).padStart(12)}`),
];
// Driver overhead: a driver Sign is wake + Nonce + Sign + idle, the same work as the raw loop,
// plus encoding, CRC checks, promises and the status mapping.
const overheadSign = 1e6 / drvSign - 1e6 / rawSign;
const overheadGen = 1e6 / drvGen - 1e6 / rawGen;
const fmt = (us: number) => (us > 0 ? `${us.toFixed(1)} µs` : 'below run-to-run noise');
lines.push('');
lines.push(`driver overhead: ${fmt(overheadSign)} per Sign session (2 commands), ${fmt(overheadGen)} per GenKey (1 command)`);
lines.push(`in-process Sign through the driver: ${Math.round(drvSign)}/s; floor ${FLOOR_SIGN_PER_S}/s: ${drvSign >= FLOOR_SIGN_PER_S ? 'met' : 'NOT MET'}`);
const checks = [{ what: `in-process Sign through the driver >= ${FLOOR_SIGN_PER_S}/s: ${Math.round(drvSign)}/s`, ok: drvSign >= FLOOR_SIGN_PER_S }];
const pass = checks.every((c) => c.ok);
if (o.json) {
  const us = (x: number) => (x > 0 ? Number(x.toFixed(1)) : null);
  process.stdout.write(JSON.stringify({
    seconds: SECONDS,
    baseline: { nodeSignPerSec: Math.round(nodeSign) },
    figures: rows.slice(1).map((r) => ({ name: r.name, perSec: Math.round(r.perS), usPerOp: Number((1e6 / r.perS).toFixed(1)), ratioToNodeSign: Number((r.perS / nodeSign).toFixed(3)) })),
    driverOverheadUs: { sign: us(overheadSign), genKey: us(overheadGen) },
    checks, pass,
  }, null, 2) + '\n');
} else {
  process.stdout.write(lines.join('\n') + '\n');
}
process.exitCode = pass ? 0 : 1;
