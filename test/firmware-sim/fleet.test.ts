import t from 'tap';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import { chipFileName } from '../../emulator/chip-dir.js';
import { bootFleet, listChipImages, percentile } from '../../firmware-sim/fleet.js';
import { startFakeEnrollment } from './fake-enrollment.js';
import { provisionChips } from './provisioned.js';

t.test('percentile is nearest-rank', async (t) => {
  t.equal(percentile([], 0.5), 0);
  t.equal(percentile([5, 1, 3, 2, 4], 0.5), 3);
  t.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99), 99);
  t.equal(percentile([7], 0.99), 7);
});

t.test('a fleet boots every image, C at a time, and sums up outcomes by code', async (t) => {
  const p = await provisionChips(t, 6);
  const fake = await startFakeEnrollment(t, p.issuing);
  const dir = t.testdir();
  for (const c of p.chips) await saveChipImage(c, join(dir, chipFileName(c)));
  const blank = createBlankChip();
  await saveChipImage(blank, join(dir, chipFileName(blank)));
  await writeFile(join(dir, 'notes.txt'), 'not a chip');

  const files = await listChipImages(dir);
  t.equal(files.length, 7, 'only *.json images are devices');
  const seen: string[] = [];
  const first = await bootFleet(files, { brokerUrl: fake.url, firstBootTrust: () => p.trust, concurrency: 3, onResult: (e) => void seen.push(e.chipFile) });
  t.equal(seen.length, 7);
  t.equal(first.summary.devices, 7);
  t.equal(first.summary.enrolled, 6);
  t.equal(first.summary.reauthenticated, 0);
  t.same(Object.values(first.summary.failed), [1], 'the blank part fails on the device, with its code');
  t.same(first.summary.refused, {});
  t.ok(first.summary.enrollMs.p50 > 0 && first.summary.enrollMs.p99 >= first.summary.enrollMs.p50);
  t.equal((await listChipImages(dir)).length, 7, 'state files are not taken for chip images');

  const again = await bootFleet(files.filter((f) => !f.includes(chipFileName(blank))), { brokerUrl: fake.url, concurrency: 6 });
  t.equal(again.summary.reauthenticated, 6);
  t.equal(again.summary.enrolled, 0);

  fake.behaviour.refuse = 'UNIT_NOT_CONFIRMED';
  const refused = await bootFleet(files.slice(0, 2).filter((f) => !f.includes(chipFileName(blank))), { brokerUrl: fake.url, concurrency: 2 });
  t.same(Object.keys(refused.summary.refused), ['UNIT_NOT_CONFIRMED']);
});
