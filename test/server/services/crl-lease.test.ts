/**
 * The CRL lease across replicas: two publishers (each with its own connection, as two server
 * processes) on one SQLite file. One signs, the other serves what the store holds and picks up
 * newer CRLs; a holder that dies without releasing is replaced once its lease expires; a clean
 * stop hands over at once; CRL numbers strictly increase; OpenSSL reads every CRL served.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CRL_LEASE, CrlPublisher } from '../../../server/services/crl-publisher.js';
import { RevocationWatcher } from '../../../server/services/revocation-watcher.js';
import { openStore } from '../../../server/store/open-store.js';
import type { Signer } from '../../../server/hsm/key-store.js';
import type { Store } from '../../../server/store/store.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
const signer: Signer = {
  keyRef: 'test', curve: 'P-256', publicKeySpki: async () => spki,
  sign: async (m) => new Uint8Array(sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  signDigest: async () => { throw new Error('unused'); },
};
// Name: CN=Test CA
const issuer = { signer, nameDer: Buffer.from('3012311030' + '0e06035504030c0754657374204341', 'hex'), keyIdHex: '0a0b0c0d' };
const dir = t.testdir();
const dbUrl = `sqlite:${join(dir, 'keyline.db')}`;
const TTL = 10_000;
let now = Date.parse('2026-11-25T10:00:00Z');
const clock = () => new Date(now);

async function replica(name: string): Promise<{ store: Store; crl: CrlPublisher }> {
  const store = await openStore(dbUrl);
  t.teardown(() => store.close());
  return { store, crl: new CrlPublisher({ store, issuer, clock, lease: { holder: name, ttlMs: TTL } }) };
}

let revoked = 0;
async function revoke(store: Store): Promise<void> {
  const serial = (0x1000 + ++revoked).toString(16);
  await store.transaction((tx) => tx.revocations.add({ certificateSerial: serial, kind: 'other', subject: null, reason: 'keyCompromise', revokedAt: clock().toISOString(), revokedBy: 'test' }));
}

/** CRL Number and entry count as `openssl crl` reads them. */
function openssl(der: Buffer): { number: number; entries: number } {
  const f = join(dir, 'x.crl');
  writeFileSync(f, der);
  const r = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', f, '-noout', '-text'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { number: parseInt(/X509v3 CRL Number:\s*\n\s*(?:0x)?([0-9A-Fa-f]+)/.exec(r.stdout)![1]!, 10), entries: (r.stdout.match(/Serial Number:/g) ?? []).length };
}

const a = await replica('replica-a');
const b = await replica('replica-b');

t.test('one replica signs, the other serves the stored CRL', async (t) => {
  const first = await a.crl.refresh();
  t.equal(first.number, 1);
  t.ok(a.crl.isIssuer(), 'a took the lease');
  const seen = await b.crl.refresh();
  t.equal(seen.number, 1, 'b serves the CRL a stored');
  t.notOk(b.crl.isIssuer(), 'b does not hold the lease');
  t.same(seen.der, first.der, 'the very same bytes');
  t.same(await b.store.transaction((tx) => tx.leases.get(CRL_LEASE)), { holder: 'replica-a', until: new Date(now + TTL).toISOString() });
  t.same(openssl(seen.der), { number: 1, entries: 0 });
});

t.test('a revocation: the holder re-issues, the other loads the newer CRL on its next poll', async (t) => {
  await revoke(b.store);
  const seq = await b.store.transaction((tx) => tx.revocations.lastSeq());
  t.ok(b.crl.isStale(seq), 'b notices its CRL misses the revocation');
  const before = await b.crl.sync();
  t.equal(before?.number, 1, 'b does not sign: still number 1 until a has issued');
  t.equal((await a.crl.sync())?.number, 2, 'a issues number 2');
  const after = await b.crl.sync();
  t.equal(after?.number, 2);
  t.notOk(b.crl.isStale(seq));
  t.same(openssl(after!.der), { number: 2, entries: 1 });
});

t.test('the holder renews at a third of the lease; the other retries only once it may be free', async (t) => {
  t.notOk(a.crl.leaseDue());
  t.notOk(b.crl.leaseDue());
  now += TTL / 3 + 1;
  t.ok(a.crl.leaseDue(), 'holder renews');
  t.notOk(b.crl.leaseDue(), 'the other waits for the expiry it read');
  await a.crl.sync();
  const lease = await a.store.transaction((tx) => tx.leases.get(CRL_LEASE));
  t.equal(lease?.until, new Date(now + TTL).toISOString(), 'renewed');
});

t.test('a holder that dies is replaced after its lease expires; numbers keep increasing', async (t) => {
  // "kill -9": a stops without releasing.
  await revoke(b.store);
  now += TTL / 2;
  t.equal((await b.crl.sync())?.number, 2, 'lease still running: b waits');
  t.notOk(b.crl.isIssuer());
  now += TTL;
  t.ok(b.crl.leaseDue(), 'b tries once the lease it read has expired');
  const taken = await b.crl.sync();
  t.ok(b.crl.isIssuer(), 'b took over');
  t.equal(taken?.number, 3);
  t.same(openssl(taken!.der), { number: 3, entries: 2 });
  t.equal((await b.store.transaction((tx) => tx.leases.get(CRL_LEASE)))?.holder, 'replica-b');
  // The old holder comes back (a paused process): it finds the lease taken and does not sign.
  await revoke(a.store);
  const late = await a.crl.sync();
  t.notOk(a.crl.isIssuer(), 'a lost the lease');
  t.equal(late?.number, 3, 'a serves what is stored');
  t.equal((await b.crl.sync())?.number, 4);
  t.equal((await a.crl.sync())?.number, 4);
});

t.test('a clean stop releases the lease: the other takes over at once', async (t) => {
  await b.crl.close();
  t.equal(await a.store.transaction((tx) => tx.leases.get(CRL_LEASE)), null);
  await revoke(a.store);
  t.equal((await a.crl.refresh()).number, 5);
  t.ok(a.crl.isIssuer());
});

t.test('a replica that finds no CRL and a live lease reports LEASE_HELD, then loads the first CRL', async (t) => {
  const other = await openStore(`sqlite:${join(dir, 'second.db')}`);
  t.teardown(() => other.close());
  await other.transaction((tx) => tx.leases.acquire(CRL_LEASE, 'elsewhere', clock().toISOString(), new Date(now + TTL).toISOString()));
  const c = new CrlPublisher({ store: other, issuer, clock, lease: { holder: 'late', ttlMs: TTL } });
  await t.rejects(c.refresh(), { code: 'LEASE_HELD' });
  t.equal(await c.sync(), null);
  now += TTL + 1;
  t.equal((await c.refresh()).number, 1, 'issues once the lease expired');
});

t.test('two watchers on one file: every CRL served is one the store holds, numbers only grow', async (t) => {
  const wa = await replica('w-a');
  const wb = await replica('w-b');
  now += 2 * TTL; // every earlier lease has expired
  const watchers = [wa, wb].map((r) => new RevocationWatcher({ store: r.store, crl: r.crl, invalidate: () => undefined, intervalMs: 20 }));
  for (const w of watchers) await w.start();
  t.teardown(() => Promise.all(watchers.map((w) => w.stop())));
  const served: number[][] = [[], []];
  for (let i = 0; i < 10; i++) {
    await revoke(wa.store);
    const seq = await wa.store.transaction((tx) => tx.revocations.lastSeq());
    const deadline = Date.now() + 5000;
    while ([wa, wb].some((r) => r.crl.isStale(seq)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    [wa, wb].forEach((r, j) => served[j]!.push(r.crl.current()!.number));
  }
  t.equal([wa, wb].filter((r) => r.crl.isIssuer()).length, 1, 'exactly one signer');
  t.same(served[0], served[1], 'both serve the same CRL after each revocation');
  t.ok(served[0]!.every((n, i) => i === 0 || n > served[0]![i - 1]!), `strictly increasing: ${served[0]!.join(',')}`);
  t.equal(openssl(wb.crl.current()!.der).entries, revoked);
});
