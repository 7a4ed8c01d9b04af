import { createHash } from 'node:crypto';
import t from 'tap';
import { createBlankChip } from '../../../emulator/atecc608/factory.js';
import { decodeResponse, encodeCommand } from '../../../secure-element/packet.js';
import { checkCrc } from '../../../secure-element/crc.js';
import { configLockedChip, run } from './helpers.js';

t.test('blank parts: realistic unique serials, unlocked factory config', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const sn = createBlankChip().serialNumber;
    t.equal(sn.length, 9);
    if (sn[0] !== 0x01 || sn[1] !== 0x23 || sn[8] !== 0xee) t.fail('fixed serial bytes');
    seen.add(Buffer.from(sn).toString('hex'));
  }
  t.equal(seen.size, 500, 'all unique');
  const chip = createBlankChip();
  t.same([...chip.state.config.subarray(86, 90)], [0x55, 0x55, 0xff, 0xff], 'unlocked, slots unlocked');
  t.equal(chip.state.config[16], 0xc0, 'I2C address C0');
});

t.test('a cloned part produces the same device key (duplicate-key guard test)', async (t) => {
  const original = configLockedChip();
  const clone = configLockedChip({ cloneOf: original });
  const a = run(original, 0x40, 0x04, 0).data;
  const b = run(clone, 0x40, 0x04, 0).data;
  t.same([...a], [...b], 'same key even when the clone is made before the original generates');
  t.notSame([...original.serialNumber], [...clone.serialNumber], 'different serials');
  const late = configLockedChip({ cloneOf: original });
  t.same([...run(late, 0x40, 0x04, 0).data], [...a], 'clone of an already-keyed part');
  const other = configLockedChip();
  t.notSame([...run(other, 0x40, 0x04, 0).data], [...a], 'ordinary parts differ');
});

t.test('fault injection at the configured rates, deterministic with an injected RNG', async (t) => {
  let seed = 42;
  const rng = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const chip = createBlankChip({ now: () => 0, faults: { crcErrorRate: 0.1, noResponseRate: 0.05, executionErrorRate: 0.1, rng } });
  while (!chip.wake());
  const frame = encodeCommand({ opcode: 0x30, param1: 0, param2: 0, data: new Uint8Array() });
  const counts = { ok: 0, none: 0, crcBad: 0, ff: 0, exec: 0 };
  const N = 4000;
  for (let i = 0; i < N; i++) {
    const r = chip.execute(frame).response;
    if (!r) counts.none++;
    else if (!checkCrc(r)) counts.crcBad++;
    else {
      const d = decodeResponse(r);
      if (d.status === 0xff) counts.ff++;
      else if (d.status === 0x0f) counts.exec++;
      else counts.ok++;
    }
  }
  const near = (got: number, rate: number) => Math.abs(got / N - rate) < rate * 0.35;
  t.ok(near(counts.none, 0.05), `no response ${counts.none}`);
  t.ok(near(counts.crcBad + counts.ff, 0.095), `CRC faults ${counts.crcBad + counts.ff}`);
  t.ok(counts.crcBad > 0 && counts.ff > 0, 'both CRC fault kinds occur');
  t.ok(near(counts.exec, 0.0855), `execution errors ${counts.exec}`);
  t.equal(counts.ok + counts.none + counts.crcBad + counts.ff + counts.exec, N);
});

t.test('no faults configured: every command answers', async (t) => {
  const chip = configLockedChip();
  for (let i = 0; i < 200; i++) run(chip, 0x16, 0x03, 0, createHash('sha256').update(String(i)).digest());
  t.pass();
});
