import { createPublicKey, verify } from 'node:crypto';
import t, { type Test } from 'tap';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import { makeTokens } from './token-fixture.js';

async function setup(t: Test) {
  const tok = makeTokens(t, ['line']);
  const ks = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: tok.pin, sessions: 2 });
  t.teardown(() => ks.close());
  const signer = await ks.getSigner(await ks.generateKeyPair({ label: 'issuing', curve: 'P-256' }));
  const key = createPublicKey({ key: Buffer.from(await signer.publicKeySpki()), format: 'der', type: 'spki' });
  const check = async (msg: string) => verify('sha256', Buffer.from(msg), { key, dsaEncoding: 'ieee-p1363' }, await signer.sign(Buffer.from(msg)));
  return { ks, signer, check };
}

t.test('recovers after every session is closed underneath it (token re-insertion)', async (t) => {
  const { ks, check } = await setup(t);
  t.ok(await check('before'));
  const gen = ks.pool.generation;
  ks.pool.p11.C_CloseAllSessions(ks.pool.slot); // what a token pulled out and put back looks like to the application
  t.ok(await check('after close-all'), 'signs again without a restart');
  t.equal(ks.pool.generation, gen + 1, 'sessions were reopened once');
  t.ok(await check('steady'));
  t.equal(ks.pool.generation, gen + 1, 'no further reopening');
});

t.test('logs in again after a logout underneath it', async (t) => {
  const { ks, check } = await setup(t);
  await ks.pool.run('logout', (s) => ks.pool.p11.C_Logout(s));
  t.ok(await check('after logout'));
});

t.test('recovers when all sessions die while calls are in flight', async (t) => {
  const { ks, check } = await setup(t);
  ks.pool.p11.C_CloseAllSessions(ks.pool.slot);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => check(`m${i}`)));
  t.ok(results.every(Boolean), 'every queued call succeeded after one recovery');
});

t.test('concurrent signing through a 2-session pool', async (t) => {
  const { check } = await setup(t);
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => check(`msg ${i}`)));
  t.equal(results.filter(Boolean).length, 300);
});

t.test('a closed pool refuses with HSM_ERROR', async (t) => {
  const { ks, signer } = await setup(t);
  await ks.pool.close();
  await t.rejects(signer.sign(Buffer.from('x')), { code: 'HSM_ERROR' });
});
