import t from 'tap';
import { TokenBucket } from '../../common/token-bucket.js';

t.test('full at the start, empty after capacity takes, refilled at its rate, never past capacity', async (t) => {
  let now = 1000;
  const b = new TokenBucket(3, 1 / 100, () => now); // one token per 100 ms
  t.ok(b.full);
  t.same([b.take(), b.take(), b.take(), b.take()], [true, true, true, false], 'three, then none');
  t.equal(b.msUntilToken(), 100, 'the next token in 100 ms');
  now += 50;
  t.notOk(b.take(), 'half a token is not one');
  t.equal(b.msUntilToken(), 50);
  now += 50;
  t.ok(b.take(), 'a token after 100 ms');
  now += 10_000;
  t.equal(b.available, 3, 'refills only up to its capacity');
  t.ok(b.full);
});

t.test('a clock that steps back neither adds nor removes tokens', async (t) => {
  let now = 5000;
  const b = new TokenBucket(2, 1 / 1000, () => now);
  t.ok(b.take());
  now = 1000;
  t.equal(b.available, 1, 'unchanged when the clock goes back');
  now = 5500;
  t.equal(b.available, 1.5, 'and counted from the latest time seen');
});

t.test('a bucket that could never hold a token is refused', async (t) => {
  t.throws(() => new TokenBucket(0, 1), RangeError);
  t.throws(() => new TokenBucket(5, 0), RangeError);
  t.throws(() => new TokenBucket(Number.NaN, 1), RangeError);
});
