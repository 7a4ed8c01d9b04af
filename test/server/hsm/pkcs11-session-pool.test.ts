import { createPublicKey, verify } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACT_PATHS } from '../../../common/log.js';
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

t.test('recovery is logged once, without the PIN; a wrong PIN is not echoed either', async (t) => {
  const tok = makeTokens(t, ['line']);
  let logged = '';
  const sink = new Writable({ write(chunk, _enc, cb) { logged += chunk; cb(); } });
  const log = pino({ level: 'trace', redact: REDACT_PATHS }, sink);
  const ks = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: tok.pin, sessions: 1, log });
  t.teardown(() => ks.close());
  const signer = await ks.getSigner(await ks.generateKeyPair({ label: 'k', curve: 'P-256' }));
  ks.pool.p11.C_CloseAllSessions(ks.pool.slot);
  await signer.sign(Buffer.from('x'));
  t.match(logged, /CKR_SESSION_HANDLE_INVALID/);
  t.equal(logged.split('\n').filter(Boolean).length, 1, 'one line per event');
  t.notMatch(logged, tok.pin);
  // A second store in the same process must prove its own PIN even though the token is logged in.
  const wrong = `${tok.pin}x`;
  try {
    Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: wrong, sessions: 1 });
    t.fail('a wrong PIN was accepted');
  } catch (err) {
    t.match(err, { code: 'HSM_LOGIN_FAILED', ckr: 'CKR_PIN_INCORRECT' });
    t.notMatch(String((err as Error).message), wrong);
  }
  t.ok(await signer.sign(Buffer.from('still works')), 'the first store logs in again by itself');
});

t.test('closing one store leaves another store on the same token working', async (t) => {
  const tok = makeTokens(t, ['line']);
  const a = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: tok.pin, sessions: 2 });
  t.teardown(() => a.close());
  const signer = await a.getSigner(await a.generateKeyPair({ label: 'k', curve: 'P-256' }));
  const b = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: tok.pin, sessions: 1 });
  // b's own login check (logout + login) makes a's cached key handle stale once; let a settle first.
  t.ok(await signer.sign(Buffer.from('while b is open')));
  const gen = a.pool.generation;
  await b.close();
  await a.pool.run('session info', (s) => a.pool.p11.C_GetSessionInfo(s));
  t.ok(await signer.sign(Buffer.from('after b closed')));
  t.equal(a.pool.generation, gen, "b's close did not touch a's sessions");
});
