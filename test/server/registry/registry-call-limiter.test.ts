import t from 'tap';
import { createRegistryCallLimiter } from '../../../server/registry/registry-call-limiter.js';

t.test('turns are handed out at most perSecond apart, in order', async (t) => {
  const limiter = createRegistryCallLimiter(20); // 50 ms apart
  const at: number[] = [];
  const start = Date.now();
  await Promise.all(Array.from({ length: 5 }, async () => { await limiter.take(); at.push(Date.now()); }));
  // A few ms of slack: the time is read just after the turn is handed out.
  for (let i = 1; i < at.length; i++) t.ok(at[i]! - at[i - 1]! >= 45, `turn ${i} after ${at[i]! - at[i - 1]!} ms`);
  t.ok(Date.now() - start >= 195, 'five turns at 20/s span at least 200 ms');
});

t.test('pause (a registry\'s Retry-After) holds every later turn back', async (t) => {
  const limiter = createRegistryCallLimiter(1000);
  await limiter.take();
  const start = Date.now();
  limiter.pause(120);
  await limiter.take();
  t.ok(Date.now() - start >= 115, `waited ${Date.now() - start} ms`);
});

t.test('no rate: never waits, except when the registry asked for a pause', async (t) => {
  const limiter = createRegistryCallLimiter(undefined);
  const start = Date.now();
  for (let i = 0; i < 100; i++) await limiter.take();
  t.ok(Date.now() - start < 50);
  limiter.pause(60);
  await limiter.take();
  t.ok(Date.now() - start >= 55, 'paused');
});
