import t from 'tap';
import { KeylineError } from '../../../common/errors.js';
import { createEnrollmentWrites } from '../../../server/enroll/enrollment-writes.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../../server/store/store.js';
import { chipDevice } from './device-client.js';
import { makeEnrollBed } from './fixture.js';

/** The store, counting the write transactions it runs. */
function counting(store: Store): Store & { writes: number } {
  const s = {
    writes: 0,
    transaction: ((fn, opts) => {
      if (!opts?.readOnly) s.writes++;
      return store.transaction(fn, opts);
    }) as Store['transaction'],
    close: () => store.close(),
  };
  return s;
}

t.test('issue 13: a failed member of a group fails alone; the others commit in a later group', async (t) => {
  const sqlite = new SqliteStore(`${t.testdir()}/w.db`);
  t.teardown(() => sqlite.close());
  const store = counting(sqlite);
  const write = createEnrollmentWrites({ store });
  const step = (name: string, fail = false) => ({
    async run(tx: Parameters<Parameters<Store['transaction']>[0]>[0]) {
      await tx.audit.append({ action: 'test.step', actor: name });
      if (fail) throw new KeylineError('STORE_ERROR', `step ${name} failed`);
      return name;
    },
  });
  const results = await Promise.allSettled([write(step('a')), write(step('b')), write(step('bad', true)), write(step('c'))]);
  t.same(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as KeylineError).code)), ['a', 'b', 'STORE_ERROR', 'c']);
  const audit = await sqlite.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 100 }), { readOnly: true });
  t.same(audit.map((r) => r.actor).sort(), ['a', 'b', 'c'], 'the failed step left nothing, the others everything');
  t.equal(store.writes, 2, 'one group failed, the innocent went again together');
});

t.test('nonce locks come first, in ascending order, before any step runs', async (t) => {
  const sqlite = new SqliteStore(`${t.testdir()}/l.db`);
  t.teardown(() => sqlite.close());
  const write = createEnrollmentWrites({ store: sqlite });
  const order: string[] = [];
  const step = (name: string, key?: string) => ({
    ...(key ? { lock: { key, run: async () => void order.push(`lock ${key}`) } } : {}),
    run: async () => void order.push(`run ${name}`),
  });
  await Promise.all([write(step('hello')), write(step('p1', 'cc')), write(step('p2', 'aa')), write(step('p3', 'bb'))]);
  t.same(order, ['lock aa', 'lock bb', 'lock cc', 'run hello', 'run p1', 'run p2', 'run p3']);
});

t.test('issue 13: concurrent devices share write transactions; two proofs with one nonce in a group: one wins', async (t) => {
  const bed = await makeEnrollBed(t, 6);
  const store = counting(bed.store);
  const svc = bed.serviceWith({ store });
  const devices = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));

  const challenges = await Promise.all(devices.map((d) => svc.hello(d.serial, d.certDer)));
  t.ok(store.writes < devices.length, `${devices.length} hellos in ${store.writes} write transactions`);

  const [a, ...rest] = devices;
  const proof = await a!.prove(challenges[0]!.nonce);
  store.writes = 0;
  const [first, second, ...others] = await Promise.allSettled([
    svc.proof(a!.serial, proof), svc.proof(a!.serial, proof),
    ...rest.map(async (d, i) => svc.proof(d.serial, await d.prove(challenges[i + 1]!.nonce))),
  ]);
  t.equal(store.writes, 1, 'every proof in one transaction');
  t.equal(first!.status, 'fulfilled', 'the first proof enrolls');
  t.match(second, { status: 'rejected', reason: { code: 'NONCE_INVALID' } }, 'the second finds the nonce spent');
  t.same(others.map((o) => o.status), rest.map(() => 'fulfilled'), 'the other devices are not affected');
  const rows = await bed.store.transaction(async (tx) => Promise.all(devices.map((d) => tx.enrollment.get(d.serial))), { readOnly: true });
  t.ok(rows.every((r) => r !== null), 'one enrollment record each');
  const audit = await bed.store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 10_000 }), { readOnly: true });
  t.equal(audit.filter((r) => r.action === 'device.enrolled' && r.subject === a!.serial).length, 1, 'one enrolled record for the device sending twice');
});

t.test('a replayed counter and a bad signature in the same group as good proofs: each answered on its own', async (t) => {
  const bed = await makeEnrollBed(t, 3);
  const [a, b, c] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
  // a enrolls once, so its counter is known; then a replay, a forgery and a good proof together.
  const ch0 = await bed.service.hello(a!.serial, a!.certDer);
  const p0 = await a!.prove(ch0.nonce);
  await bed.service.proof(a!.serial, p0);
  const [cha, chb, chc] = await Promise.all([a!, b!, c!].map((d) => bed.service.hello(d.serial, d.certDer)));
  const replay = await a!.prove(cha!.nonce, { counter: p0.counter });
  const pb = await b!.prove(chb!.nonce);
  const forged = { ...pb, counter: pb.counter + 1 };
  const good = await c!.prove(chc!.nonce);
  const r = await Promise.allSettled([bed.service.proof(a!.serial, replay), bed.service.proof(b!.serial, forged), bed.service.proof(c!.serial, good)]);
  t.match(r, [{ status: 'rejected', reason: { code: 'REPLAYED' } }, { status: 'rejected', reason: { code: 'SIGNATURE_INVALID' } }, { status: 'fulfilled', value: { reenrolled: false } }]);
  const audit = await bed.store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 10_000 }), { readOnly: true });
  t.same(audit.filter((x) => x.action === 'device.enroll-refused').map((x) => [x.subject, JSON.parse(x.detail!).code]), [[a!.serial, 'REPLAYED'], [b!.serial, 'SIGNATURE_INVALID']]);
  // Both refused proofs spent their nonces.
  await t.rejects(bed.service.proof(b!.serial, pb), { code: 'NONCE_INVALID' });
});
