import t from 'tap';
import { createGroupCommit } from '../../../server/services/group-commit.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';

t.test('submissions in one turn share a transaction; a failed one rejects only its group', async (t) => {
  const store = new SqliteStore(`${t.testdir()}/g.db`);
  t.teardown(() => store.close());
  const groups: string[][] = [];
  const submit = createGroupCommit<string>({
    store,
    apply: async (tx, items) => {
      groups.push(items);
      for (const item of items) await tx.audit.append({ action: 'x', actor: item });
      if (items.includes('bad')) throw new Error('apply failed');
    },
    maxItems: 10,
  });

  await Promise.all(['a', 'b', 'c'].map((s) => submit([s])));
  t.same(groups, [['a', 'b', 'c']]);
  t.equal(await store.transaction((tx) => tx.audit.count()), 3, 'resolved only after commit');

  const results = await Promise.allSettled([submit(['d']), submit(['bad']), submit(['e'])]);
  t.same(results.map((r) => r.status), ['rejected', 'rejected', 'rejected'], 'the whole failed group is told');
  t.equal(await store.transaction((tx) => tx.audit.count()), 3, 'and nothing of it was committed');
  await submit(['f']);
  t.equal(await store.transaction((tx) => tx.audit.count()), 4, 'the next group commits normally');

  groups.length = 0;
  await Promise.all(Array.from({ length: 25 }, (_, i) => submit([`u${i}`])));
  t.same(groups.map((g) => g.length), [10, 10, 5], 'at most maxItems per transaction');
});

t.test('a transaction that cannot begin rejects the waiting submissions', async (t) => {
  const store = new SqliteStore(`${t.testdir()}/h.db`);
  const submit = createGroupCommit<number>({ store, apply: async () => undefined });
  await store.close();
  await t.rejects(submit([1]), { code: 'STORE_ERROR' });
  await t.rejects(submit([2]), { code: 'STORE_ERROR' }, 'and the committer is not wedged');
});

t.test('a submission getting ready keeps its place: no transaction begins before it is ready, later ones join it', async (t) => {
  const store = new SqliteStore(`${t.testdir()}/r.db`);
  t.teardown(() => store.close());
  const groups: string[][] = [];
  let began = 0;
  const submit = createGroupCommit<string>({ store, apply: async (_tx, items) => void (began++, groups.push(items)) });
  let release!: () => void;
  const slow = new Promise<void>((resolve) => { release = resolve; });
  const done = Promise.all([submit(['first'], slow), submit(['second']), submit(['third'], Promise.reject(new Error('its own failure')))]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(began, 0, 'nothing began while the first in line was getting ready');
  release();
  await done;
  t.same(groups, [['first', 'second', 'third']], 'in the order submitted, in one transaction');
});
