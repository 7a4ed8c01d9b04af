/**
 * `keyline device fleet --retries`: a device whose answer was lost (broker restart) boots again
 * and the server's record makes the second boot a re-authentication; refusals without a
 * retry-after are final.
 */
import t from 'tap';
import { join } from 'node:path';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { chipFileName } from '../../emulator/chip-dir.js';
import { bootFleet, listChipImages } from '../../firmware-sim/fleet.js';
import { startFakeEnrollment } from './fake-enrollment.js';
import { provisionChips } from './provisioned.js';

const p = await provisionChips(t, 4);
const fake = await startFakeEnrollment(t, p.issuing);
const dir = t.testdir();
for (const c of p.chips) await saveChipImage(c, join(dir, chipFileName(c)));
const files = await listChipImages(dir);

t.test('without retries a lost answer is a failure', async (t) => {
  fake.behaviour.dropAnswers = 1;
  const r = await bootFleet(files.slice(0, 1), { brokerUrl: fake.url, firstBootTrust: () => p.trust, concurrency: 1, timeoutMs: 300 });
  t.same(r.summary.failed, { ENROLLMENT_TIMEOUT: 1 });
  t.equal(r.summary.retried, 0);
});

t.test('with retries every device ends enrolled; the lost ones re-authenticate', async (t) => {
  fake.behaviour.dropAnswers = 2;
  const r = await bootFleet(files.slice(1), { brokerUrl: fake.url, firstBootTrust: () => p.trust, concurrency: 3, timeoutMs: 300, retries: 3 });
  t.equal(r.summary.enrolled + r.summary.reauthenticated, 3, JSON.stringify(r.summary));
  t.equal(r.summary.reauthenticated, 2, 'the server had recorded them: the retry is idempotent');
  t.equal(r.summary.retried, 2);
  t.same(r.summary.failed, {});
});

t.test('a refusal without retry-after is not retried', async (t) => {
  fake.behaviour.refuse = 'UNIT_NOT_CONFIRMED';
  t.teardown(() => void delete fake.behaviour.refuse);
  const r = await bootFleet(files.slice(0, 1), { brokerUrl: fake.url, concurrency: 1, timeoutMs: 300, retries: 3 });
  t.same(r.summary.refused, { UNIT_NOT_CONFIRMED: 1 });
  t.equal(r.summary.retried, 0);
});
