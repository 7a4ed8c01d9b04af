/**
 * The CA lifecycle part of the Store suite (issue 19): CRLs kept per issuing CA, activations,
 * root CRLs that only move forward, and idempotent transcript imports. Run by store.suite.ts
 * against every implementation.
 */
import type { Test } from 'tap';
import type { Store } from '../../../server/store/store.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

/** The CA lifecycle tests. */
export function caSuite(t: Test, open: () => Promise<Store>): void {
  const withStore = async (t: Test) => {
    const store = await open();
    t.teardown(() => store.close());
    return store;
  };

  t.test('CRLs (issue 19): one latest CRL per issuing CA, numbered on its own; the default issuer is the pre-019 row', async (t) => {
    const store = await withStore(t);
    const crl = (issuerKeyId: string | undefined, number: number) => ({ ...(issuerKeyId === undefined ? {} : { issuerKeyId }), number, thisUpdate: T0, nextUpdate: T1, revocationSeq: 0, der: Buffer.from([number]) });
    await store.transaction((tx) => tx.crls.save(crl('aa01', 7)));
    await store.transaction((tx) => tx.crls.save(crl('bb02', 1)));
    await store.transaction((tx) => tx.crls.save(crl(undefined, 3)));
    t.match(await store.transaction((tx) => tx.crls.latest('aa01')), { issuerKeyId: 'aa01', number: 7 });
    t.match(await store.transaction((tx) => tx.crls.latest('bb02')), { issuerKeyId: 'bb02', number: 1 });
    t.match(await store.transaction((tx) => tx.crls.latest()), { issuerKeyId: '', number: 3 });
    t.equal(await store.transaction((tx) => tx.crls.latest('cc03')), null);
    await t.rejects(store.transaction((tx) => tx.crls.save(crl('aa01', 7))), { code: 'STORE_ERROR' });
    await store.transaction((tx) => tx.crls.save(crl('bb02', 2)));
    t.equal((await store.transaction((tx) => tx.crls.latest('bb02')))!.number, 2);
    t.equal((await store.transaction((tx) => tx.crls.latest('aa01')))!.number, 7, 'another CA\'s number is untouched');
  });

  t.test('CA activations (issue 19): appended in order, a generation counter to poll', async (t) => {
    const store = await withStore(t);
    t.equal(await store.transaction((tx) => tx.ca.lastActivationSeq(), { readOnly: true }), 0);
    t.same(await store.transaction((tx) => tx.ca.activations(), { readOnly: true }), []);
    const a = await store.transaction((tx) => tx.ca.addActivation({ keyId: 'aa01', activateAt: T0, actor: 'operator-01' }));
    const b = await store.transaction((tx) => tx.ca.addActivation({ keyId: 'bb02', activateAt: T1, actor: 'operator-01' }));
    t.ok(b.seq > a.seq);
    t.match(await store.transaction((tx) => tx.ca.activations(), { readOnly: true }), [{ keyId: 'aa01', activateAt: T0, actor: 'operator-01' }, { keyId: 'bb02', activateAt: T1 }]);
    t.equal(await store.transaction((tx) => tx.ca.lastActivationSeq(), { readOnly: true }), b.seq);
    await t.rejects(store.transaction((tx) => tx.ca.addActivation({ keyId: 'NOT HEX', activateAt: T0, actor: 'x' })), { code: 'STORE_ERROR' });
  });

  t.test('root CRLs (issue 19): only a greater number is stored; the greatest is the latest', async (t) => {
    const store = await withStore(t);
    t.equal(await store.transaction((tx) => tx.ca.latestRootCrl()), null);
    const root = (number: number) => ({ number, thisUpdate: T0, nextUpdate: T1, der: Buffer.from([0x30, number]) });
    await store.transaction((tx) => tx.ca.saveRootCrl(root(1)));
    await store.transaction((tx) => tx.ca.saveRootCrl(root(3)));
    await t.rejects(store.transaction((tx) => tx.ca.saveRootCrl(root(3))), { code: 'CRL_NOT_NEWER' });
    await t.rejects(store.transaction((tx) => tx.ca.saveRootCrl(root(2))), { code: 'CRL_NOT_NEWER' }, 'an older CRL never comes back');
    const latest = await store.transaction((tx) => tx.ca.latestRootCrl(), { readOnly: true });
    t.match(latest, { number: 3, thisUpdate: T0, nextUpdate: T1 });
    t.same(Buffer.from(latest!.der), Buffer.from([0x30, 3]));
    t.type(latest!.importedAt, 'string');
  });

  t.test('transcript imports (issue 19): each entry marked once', async (t) => {
    const store = await withStore(t);
    t.equal(await store.transaction((tx) => tx.ca.markTranscriptEntry('t1', 1, 'h1')), true);
    t.equal(await store.transaction((tx) => tx.ca.markTranscriptEntry('t1', 1, 'h1')), false);
    t.equal(await store.transaction((tx) => tx.ca.markTranscriptEntry('t1', 2, 'h2')), true);
    t.equal(await store.transaction((tx) => tx.ca.markTranscriptEntry('t2', 1, 'h1')), true);
  });
}
