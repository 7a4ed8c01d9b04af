/**
 * The OCSP signing budget (issue 11): a token bucket that allows `burst` signatures at once and
 * `ratePerSecond` sustained, whatever the demand.
 */
import t from 'tap';
import { SigningBudget } from '../../../server/ca/signing-budget.js';

t.test('burst, then the sustained rate', async (t) => {
  let now = 0;
  const b = new SigningBudget({ ratePerSecond: 10, burst: 5, now: () => now });
  let granted = 0;
  for (let i = 0; i < 100; i++) if (b.take()) granted++;
  t.equal(granted, 5, 'the burst');
  now += 1000;
  granted = 0;
  for (let i = 0; i < 100; i++) if (b.take()) granted++;
  t.equal(granted, 5, 'refilled to the burst, not beyond it');
  // Ten seconds of constant demand: burst + rate x time, never more.
  granted = 0;
  for (let ms = 0; ms < 10_000; ms += 10) {
    now += 10;
    while (b.take()) granted++;
  }
  t.ok(granted >= 99 && granted <= 100, `${granted} in 10 s at 10/s`);
});

t.test('a clock stepping back grants nothing extra; bad limits are refused', async (t) => {
  let now = 5000;
  const b = new SigningBudget({ ratePerSecond: 1, burst: 1, now: () => now });
  t.ok(b.take());
  now = 0;
  t.notOk(b.take());
  now = 4999;
  t.notOk(b.take(), 'time before the last reading does not count');
  now = 6000;
  t.ok(b.take());
  t.throws(() => new SigningBudget({ ratePerSecond: 0, burst: 1 }), RangeError);
  t.throws(() => new SigningBudget({ ratePerSecond: 1, burst: 0 }), RangeError);
});
