/**
 * The KeyStore conformance suite: every implementation (SoftHSM via PKCS#11 today, a cloud KMS
 * tomorrow) must pass it. Call `keyStoreSuite(t, makeStore)` from the implementation's test file.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { Test } from 'tap';
import type { KeyStore } from '../../../server/hsm/key-store.js';

/** Runs the shared KeyStore behaviour against stores made by `makeStore` (one per subtest). */
export function keyStoreSuite(t: Test, makeStore: (t: Test) => Promise<KeyStore>): void {
  t.test('generates P-256 and P-384 keys whose signatures verify', async (t) => {
    const ks = await makeStore(t);
    for (const [curve, hash, len] of [['P-256', 'sha256', 64], ['P-384', 'sha384', 96]] as const) {
      const signer = await ks.getSigner(await ks.generateKeyPair({ label: `suite-${curve}`, curve }));
      t.equal(signer.curve, curve);
      const key = createPublicKey({ key: Buffer.from(await signer.publicKeySpki()), format: 'der', type: 'spki' });
      const msg = Buffer.from(`suite ${curve}`);
      const sig = await signer.sign(msg);
      t.equal(sig.length, len, 'raw r||s');
      t.ok(verify(hash, msg, { key, dsaEncoding: 'ieee-p1363' }, sig), `${curve} sign()`);
      const viaDigest = await signer.signDigest(createHash(hash).update(msg).digest());
      t.ok(verify(hash, msg, { key, dsaEncoding: 'ieee-p1363' }, viaDigest), `${curve} signDigest()`);
    }
  });

  t.test('the same reference gives the same key; unknown references are HSM_KEY_NOT_FOUND', async (t) => {
    const ks = await makeStore(t);
    const ref = await ks.generateKeyPair({ label: 'suite-same', curve: 'P-256' });
    const a = await (await ks.getSigner(ref)).publicKeySpki();
    const b = await (await ks.getSigner(ref)).publicKeySpki();
    t.same(Buffer.from(a), Buffer.from(b));
    await t.rejects(ks.getSigner(ref.replace('suite-same', 'suite-missing').replace(/;id=[^;?]*/, '')), { code: 'HSM_KEY_NOT_FOUND' });
  });

  t.test('a label cannot be generated twice', async (t) => {
    const ks = await makeStore(t);
    await ks.generateKeyPair({ label: 'suite-dup', curve: 'P-256' });
    await t.rejects(ks.generateKeyPair({ label: 'suite-dup', curve: 'P-256' }), { code: 'HSM_KEY_EXISTS' });
  });

  t.test('concurrent signatures all verify', async (t) => {
    const ks = await makeStore(t);
    const signer = await ks.getSigner(await ks.generateKeyPair({ label: 'suite-conc', curve: 'P-256' }));
    const key = createPublicKey({ key: Buffer.from(await signer.publicKeySpki()), format: 'der', type: 'spki' });
    const ok = await Promise.all(Array.from({ length: 100 }, async (_, i) => verify('sha256', Buffer.from(`m${i}`), { key, dsaEncoding: 'ieee-p1363' }, await signer.sign(Buffer.from(`m${i}`)))));
    t.equal(ok.filter(Boolean).length, 100);
  });
}
