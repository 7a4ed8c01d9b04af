import { createHash, verify } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadChipImage, saveChipImage } from '../../../emulator/atecc608/image.js';
import { lockedChipWithKey, publicKeyObject, run, st } from './helpers.js';

t.test('a provisioned chip saved and loaded signs with the same key and keeps its state', async (t) => {
  const dir = t.testdir();
  const { chip, pub } = lockedChipWithKey();
  run(chip, 0x12, 0x82, 10 << 3, new Uint8Array(32).fill(0xc3));
  run(chip, 0x17, 0x02 | (10 << 2), 0);
  run(chip, 0x24, 0x01, 0);
  run(chip, 0x24, 0x01, 0);
  const file = join(dir, 'chip.json');
  await saveChipImage(chip, file);
  t.same(readdirSync(dir), ['chip.json'], 'no temp file left behind');

  const back = await loadChipImage(file, { now: () => 0 });
  back.wake();
  t.same([...back.serialNumber], [...chip.serialNumber]);
  t.same([...run(back, 0x40, 0x00, 0).data], [...pub], 'same public key');
  const msg = Buffer.from('after reload');
  run(back, 0x16, 0x03, 0, createHash('sha256').update(msg).digest());
  const sig = run(back, 0x41, 0x80, 0).data;
  t.ok(verify('sha256', msg, { key: publicKeyObject(pub), dsaEncoding: 'ieee-p1363' }, sig));
  t.equal(Buffer.from(run(back, 0x24, 0x00, 0).data).readUInt32LE(0), 2, 'counter persisted');
  t.equal(st(back, 0x12, 0x82, 10 << 3, new Uint8Array(32)), 0x0f, 'slot lock persisted');
  t.equal(st(back, 0x02, 0x02, 0), 0x0f, 'private key still unreadable');
  t.equal(back.state.tempKey.valid, false, 'volatile state not persisted');
});

t.test('corrupt images are CHIP_IMAGE_INVALID', async (t) => {
  const dir = t.testdir();
  const { chip } = lockedChipWithKey();
  const file = join(dir, 'chip.json');
  await saveChipImage(chip, file);
  const good = JSON.parse(readFileSync(file, 'utf8'));
  const cases: Record<string, unknown> = {
    'not json': '{',
    'wrong format': { ...good, format: 'other' },
    'short config': { ...good, config: good.config.slice(2) },
    'bad hex': { ...good, otp: 'zz'.repeat(64) },
    'slot size': { ...good, slots: [...good.slots.slice(0, 15), '00'] },
    'bad clone key': { ...good, cloneScalar: 'ab' },
    'not an object': [1, 2],
  };
  for (const [name, body] of Object.entries(cases)) {
    const f = join(dir, `${name.replace(/ /g, '-')}.json`);
    writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
    await t.rejects(loadChipImage(f), { code: 'CHIP_IMAGE_INVALID' }, name);
  }
  await t.rejects(loadChipImage(join(dir, 'missing.json')), { code: 'CHIP_IMAGE_INVALID' }, 'missing file');
});
