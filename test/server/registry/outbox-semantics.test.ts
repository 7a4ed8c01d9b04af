import Database from 'better-sqlite3';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { RegistryError } from '../../../common/errors.js';
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import type { Registry, RegistrationResult } from '../../../server/registry/registry.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { UnitRecord } from '../../../server/store/store.js';
import { issue, round, storeWithOrder } from './helpers.js';

/** An in-process fake registry: scripted answers per call, every call logged with its time. */
function fakeRegistry(name: string, script: Partial<{
  register: (u: UnitRecord, n: number) => RegistrationResult | Error;
  confirm: (u: UnitRecord, n: number) => RegistrationResult | null;
  maxPerSecond: number;
}> = {}) {
  const calls: Array<{ op: string; serial: string; at: number }> = [];
  const count = (op: string) => calls.filter((c) => c.op === op).length;
  const reg: Registry & { calls: typeof calls; count: typeof count } = {
    name, calls, count,
    ...(script.maxPerSecond ? { maxPerSecond: script.maxPerSecond } : {}),
    async register(u) {
      calls.push({ op: 'register', serial: u.serial, at: Date.now() });
      const r = script.register ? script.register(u, count('register')) : { externalId: `${name}:${u.serial}` };
      if (r instanceof Error) throw r;
      return r;
    },
    async revoke(u) { calls.push({ op: 'revoke', serial: u.serial, at: Date.now() }); },
    ...(script.confirm ? {
      async confirmConnection(u: UnitRecord) {
        calls.push({ op: 'confirm', serial: u.serial, at: Date.now() });
        return script.confirm!(u, count('confirm'));
      },
    } : {}),
  };
  return reg;
}

const serialsOf = (outcomes: Awaited<ReturnType<typeof issue>>) => outcomes.map((o) => (o.ok ? o.value.serial : ''));
const T0 = Date.parse('2026-01-03T00:00:00Z');

t.test('REGISTRY_REJECTED parks at once with the reason', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['cloud']);
  t.teardown(() => store.close());
  const [serial] = serialsOf(await issue(store, 1));
  const cloud = fakeRegistry('cloud', { register: () => new RegistryError('REGISTRY_REJECTED', 'policy keyline-device does not exist') });
  const w = createOutboxWorker({ store, registries: [cloud], maxAttempts: 8, now: () => new Date(T0) });
  t.same(await w.runOnce(), round({ parked: 1 }));
  const [job] = await store.transaction((tx) => tx.outbox.jobsFor(serial!));
  t.match(job, { status: 'parked', attempts: 1, lastError: 'REGISTRY_REJECTED: policy keyline-device does not exist' });
});

t.test('REGISTRY_THROTTLED releases until retryAfterMs without counting; other errors count and park', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['cloud']);
  t.teardown(() => store.close());
  const [serial] = serialsOf(await issue(store, 1));
  let clock = T0;
  const answers: Array<RegistrationResult | Error> = [
    new RegistryError('REGISTRY_THROTTLED', '429 from the cloud', { retryAfterMs: 5000 }),
    new RegistryError('REGISTRY_THROTTLED', '429 again'),
    new RegistryError('REGISTRY_UNAVAILABLE', '503', { retryAfterMs: 7000 }),
    new RegistryError('REGISTRY_THROTTLED', '429'),
    new RegistryError('REGISTRY_THROTTLED', '429'),
    { externalId: 'thing-1' },
  ];
  const cloud = fakeRegistry('cloud', { register: (_u, n) => answers[n - 1]! });
  const w = createOutboxWorker({ store, registries: [cloud], now: () => new Date(clock), maxAttempts: 2, baseDelayMs: 1000 });
  const job = async () => (await store.transaction((tx) => tx.outbox.jobsFor(serial!)))[0]!;

  t.same(await w.runOnce(), round({ throttled: 1 }));
  t.match(await job(), { status: 'pending', attempts: 0, leaseUntil: null, nextAttemptAt: new Date(T0 + 5000).toISOString() });
  t.same(await w.runOnce(), round({}), 'not before Retry-After');
  clock += 5000;
  t.same(await w.runOnce(), round({ throttled: 1 }), 'throttled without a hint: backoff');
  t.equal(Date.parse((await job()).nextAttemptAt) - clock, 1000);
  clock += 1000;
  t.same(await w.runOnce(), round({ retried: 1 }), 'unavailable counts');
  t.match(await job(), { attempts: 1, lastError: 'REGISTRY_UNAVAILABLE: 503' });
  t.equal(Date.parse((await job()).nextAttemptAt) - clock, 7000, 'its Retry-After honoured');
  // Two throttles at maxAttempts - 1 attempts do not park the job.
  for (let i = 0; i < 2; i++) {
    clock += 60_000;
    t.same(await w.runOnce(), round({ throttled: 1 }));
  }
  clock += 60_000;
  t.same(await w.runOnce(), round({ delivered: 1 }));
  t.match(await job(), { status: 'delivered', attempts: 2, externalId: 'thing-1' });
  t.equal(cloud.count('register'), 6);
});

t.test('awaiting connection: marked, re-checked every awaitingCheckMs, delivered once confirmed', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['jitp']);
  t.teardown(() => store.close());
  const [serial] = serialsOf(await issue(store, 1));
  let clock = T0;
  const cloud = fakeRegistry('jitp', {
    register: (u) => ({ externalId: `thing-${u.serial}`, awaitingConnection: true }),
    confirm: (u, n) => (n < 3 ? null : { externalId: `thing-${u.serial}` }),
  });
  const w = createOutboxWorker({ store, registries: [cloud], now: () => new Date(clock), awaitingCheckMs: 60_000 });
  t.same(await w.runOnce(), round({ awaiting: 1 }));
  t.match((await store.transaction((tx) => tx.outbox.awaiting('WO-1')))[0], { status: 'awaiting', externalId: `thing-${serial}`, nextAttemptAt: new Date(T0 + 60_000).toISOString() });
  t.same(await store.transaction((tx) => tx.outbox.unregistered()), [], 'awaiting is not unregistered');
  clock += 30_000;
  t.same(await w.runOnce(), round({}), 'not re-checked early');
  for (const expectAwaiting of [true, true]) {
    clock += 60_000;
    t.same(await w.runOnce(), round(expectAwaiting ? { awaiting: 1 } : { delivered: 1 }));
  }
  clock += 60_000;
  t.same(await w.runOnce(), round({ delivered: 1 }));
  t.equal(cloud.count('register'), 1, 'registered once');
  t.equal(cloud.count('confirm'), 3);
  t.equal((await store.transaction((tx) => tx.outbox.getRegistration(serial!, 'jitp')))?.externalId, `thing-${serial}`);
  t.same(await store.transaction((tx) => tx.outbox.awaiting()), []);
});

t.test('per-registry rate limit: calls are spaced by maxPerSecond, other registries unaffected', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['slowcloud', 'self2']);
  t.teardown(() => store.close());
  await issue(store, 6);
  const slow = fakeRegistry('slowcloud', { maxPerSecond: 20 });
  const fast = fakeRegistry('self2');
  const w = createOutboxWorker({ store, registries: [slow, fast] });
  const started = Date.now();
  t.same(await w.runOnce(), round({ delivered: 12 }));
  const times = slow.calls.map((c) => c.at).sort((a, b) => a - b);
  // The k-th call never runs before its turn at k × 50 ms (a few ms of slack: the call is
  // logged just after its turn is handed out). Gaps between calls are not asserted: a loaded
  // machine may run one call late and the next on time.
  for (let i = 1; i < times.length; i++) t.ok(times[i]! - started >= i * 50 - 5, `call ${i} at ${times[i]! - started} ms, not before ${i * 50} ms`);
  t.ok(Date.now() - started >= 240, 'six calls at 20/s take at least 250 ms');
  t.ok(Math.max(...fast.calls.map((c) => c.at)) < times[2]!, 'the unlimited registry did not queue behind the limited one');
});

t.test('deliverUnit delivers one unit\'s jobs now, leaving the others', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['self', 'cloud']);
  t.teardown(() => store.close());
  const serials = serialsOf(await issue(store, 3));
  const cloud = fakeRegistry('cloud');
  const { createSelfRegistry } = await import('../../../server/registry/self-registry.js');
  const w = createOutboxWorker({ store, registries: [createSelfRegistry({ store }), cloud] });
  // Self was registered with each unit (issue 13): the cloud job is the unit's one job.
  t.same(await w.deliverUnit(serials[1]!), round({ delivered: 1 }));
  t.same(cloud.calls.map((c) => c.serial), [serials[1]]);
  t.same((await store.transaction((tx) => tx.outbox.unregistered())).map((u) => `${u.serial}/${u.registry}`).sort(), [`${serials[0]}/cloud`, `${serials[2]}/cloud`].sort());
  t.same(await w.deliverUnit(serials[1]!), round({}), 'nothing left for it');
});

t.test('two worker processes on one database file never deliver a job twice', async (t) => {
  const dir = t.testdir();
  const store = await storeWithOrder(dir, ['cloud']);
  t.teardown(() => store.close());
  await issue(store, 12);
  const child = fileURLToPath(new URL('./outbox-process.ts', import.meta.url));
  const run = () => new Promise<string[]>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', child, join(dir, 'keyline.db'), '20'], { timeout: 30_000 }, (err, out, stderr) =>
      (err ? reject(new Error(`outbox child failed: ${stderr.slice(-2000)}`, { cause: err })) : resolve(JSON.parse(out) as string[])));
  });
  const [a, b] = await Promise.all([run(), run()]);
  const all = [...a!, ...b!];
  t.equal(all.length, 12, `each unit registered exactly once (${a!.length} + ${b!.length})`);
  t.equal(new Set(all).size, 12);
  t.same(await store.transaction((tx) => tx.outbox.unregistered()), []);
});

t.test('an idle round does not take the write lock', async (t) => {
  const dir = t.testdir();
  const seed = await storeWithOrder(dir);
  await seed.close();
  const store = new SqliteStore(join(dir, 'keyline.db'), { busyTimeoutMs: 50 });
  t.teardown(() => store.close());
  const w = createOutboxWorker({ store, registries: [] });
  // Another process holds the write lock for the whole round.
  const writer = new Database(join(dir, 'keyline.db'));
  writer.exec('BEGIN IMMEDIATE');
  try {
    t.same(await w.runOnce(), round({}));
  } finally {
    writer.exec('ROLLBACK');
    writer.close();
  }
});

t.test('revoke after register on one registry runs in order; a revoked unit is never registered', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['cloud']);
  t.teardown(() => store.close());
  const [a, b] = serialsOf(await issue(store, 2));
  const at = new Date().toISOString();
  await store.transaction(async (tx) => {
    await tx.outbox.enqueue({ serial: a!, registry: 'cloud', action: 'revoke', at });
    await tx.outbox.enqueue({ serial: b!, registry: 'cloud', action: 'revoke', at });
    await tx.units.setStatus(b!, 'revoked', { at, reason: 'keyCompromise' });
  });
  const cloud = fakeRegistry('cloud');
  t.same(await createOutboxWorker({ store, registries: [cloud] }).runOnce(), round({ delivered: 4 }));
  t.same(cloud.calls.filter((c) => c.serial === a).map((c) => c.op), ['register', 'revoke']);
  t.same(cloud.calls.filter((c) => c.serial === b).map((c) => c.op), ['revoke'], 'b was revoked before its registration went out');
});
