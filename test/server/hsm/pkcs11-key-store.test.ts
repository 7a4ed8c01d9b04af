import { createPublicKey, verify } from 'node:crypto';
import t from 'tap';
import pkcs11js from 'pkcs11js';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import { parsePkcs11Uri } from '../../../server/hsm/pkcs11-uri.js';
import { makeTokens } from './token-fixture.js';
import { keyStoreSuite } from './key-store.suite.js';

t.test('KeyStore conformance suite on SoftHSM', async (t) => {
  keyStoreSuite(t, async (t) => {
    const tok = makeTokens(t, ['suite']);
    const ks = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'suite', pin: tok.pin, sessions: 2 });
    t.teardown(() => ks.close());
    return ks;
  });
});

t.test('generates non-extractable P-256 and P-384 keys that sign verifiably', async (t) => {
  const tok = makeTokens(t, ['line']);
  const ks = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: tok.pin, sessions: 2 });
  t.teardown(() => ks.close());
  for (const curve of ['P-256', 'P-384'] as const) {
    const ref = await ks.generateKeyPair({ label: `k-${curve}`, curve });
    t.match(ref, /^pkcs11:token=line;object=k-P-\d+;id=/);
    const signer = await ks.getSigner(ref);
    t.equal(signer.curve, curve);
    const key = createPublicKey({ key: Buffer.from(await signer.publicKeySpki()), format: 'der', type: 'spki' });
    t.equal(key.asymmetricKeyDetails?.namedCurve, curve === 'P-256' ? 'prime256v1' : 'secp384r1');
    const msg = Buffer.from(`hello ${curve}`);
    const sig = await signer.sign(msg);
    t.equal(sig.length, curve === 'P-256' ? 64 : 96, 'raw r||s');
    t.ok(verify(curve === 'P-256' ? 'sha256' : 'sha384', msg, { key, dsaEncoding: 'ieee-p1363' }, sig), `${curve} signature verifies with node:crypto`);
    t.notOk(verify('sha256', Buffer.from('other'), { key, dsaEncoding: 'ieee-p1363' }, sig));

    // The attributes that keep the key in the token (PKCS#11 v2.40 §4.9).
    const id = parsePkcs11Uri(ref).id!;
    await ks.pool.run('inspect', (session) => {
      const p11 = ks.pool.p11;
      p11.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_ID, value: Buffer.from(id) }]);
      const [h] = p11.C_FindObjects(session, 2);
      p11.C_FindObjectsFinal(session);
      const attrs = p11.C_GetAttributeValue(session, h!, [
        { type: pkcs11js.CKA_TOKEN }, { type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_PRIVATE }, { type: pkcs11js.CKA_SIGN },
        { type: pkcs11js.CKA_ALWAYS_SENSITIVE }, { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
      ]).map((a) => a.value[0]);
      t.same(attrs, [1, 1, 0, 1, 1, 1, 1], 'TOKEN, SENSITIVE, !EXTRACTABLE, PRIVATE, SIGN, ALWAYS_SENSITIVE, NEVER_EXTRACTABLE');
      // Issue 11: sign-only. No decrypt, unwrap, derive or sign-recover on the private key.
      const usage = p11.C_GetAttributeValue(session, h!, [
        { type: pkcs11js.CKA_DECRYPT }, { type: pkcs11js.CKA_UNWRAP }, { type: pkcs11js.CKA_DERIVE }, { type: pkcs11js.CKA_SIGN_RECOVER },
      ]).map((a) => a.value[0]);
      t.same(usage, [0, 0, 0, 0], '!DECRYPT, !UNWRAP, !DERIVE, !SIGN_RECOVER');
      const ecdh = (() => { try { p11.C_DeriveKey(session, { mechanism: pkcs11js.CKM_ECDH1_DERIVE, parameter: { type: pkcs11js.CK_PARAMS_EC_DH, kdf: pkcs11js.CKD_NULL, publicData: Buffer.alloc(65, 4) } as pkcs11js.ECDH1 }, h!, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET }, { type: pkcs11js.CKA_VALUE_LEN, value: 32 }]); return 'derived'; } catch (err) { return (err as Error).message; } })();
      t.match(ecdh, /CKR_KEY_FUNCTION_NOT_PERMITTED/, 'the token refuses ECDH with a CA key');
      t.throws(() => p11.C_GetAttributeValue(session, h!, [{ type: pkcs11js.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/, 'the private value cannot be read');
    });
  }
  const listed = await ks.listPrivateKeys();
  t.same(listed.map((k) => [k.label, k.curve]).sort(), [['k-P-256', 'P-256'], ['k-P-384', 'P-384']]);
  t.ok(listed.every((k) => k.publicKeySpki), 'public objects found by CKA_ID');
  t.ok(listed.every((k) => k.usage.sign && k.usage.sensitive && !k.usage.extractable && !k.usage.decrypt && !k.usage.unwrap && !k.usage.derive), 'listed with their usage');
});

t.test('typed refusals: duplicate label, unknown key, foreign token, wrong PIN', async (t) => {
  const tok = makeTokens(t, ['line']);
  await t.rejects(async () => Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: 'wrong-pin', sessions: 1 }), { code: 'HSM_LOGIN_FAILED', ckr: 'CKR_PIN_INCORRECT' });
  t.throws(() => Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'nope', pin: tok.pin, sessions: 1 }), { code: 'HSM_ERROR' });
  const ks = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: tok.pin, sessions: 1 });
  t.teardown(() => ks.close());
  await ks.generateKeyPair({ label: 'a', curve: 'P-256' });
  await t.rejects(ks.generateKeyPair({ label: 'a', curve: 'P-256' }), { code: 'HSM_KEY_EXISTS' });
  await t.rejects(ks.getSigner('pkcs11:token=line;object=missing'), { code: 'HSM_KEY_NOT_FOUND' });
  await t.rejects(ks.getSigner('pkcs11:token=root;object=a'), { code: 'HSM_KEY_NOT_FOUND' });
  await t.rejects(ks.getSigner('file:/etc/key.pem'), { code: 'HSM_KEY_NOT_FOUND' });
  t.ok(await ks.getSigner('pkcs11:object=a'), 'token may be left out');
});
