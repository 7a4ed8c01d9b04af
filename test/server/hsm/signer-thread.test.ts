import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import pkcs11js from 'pkcs11js';
import t, { type Test } from 'tap';
import { REDACT_PATHS } from '../../../common/log.js';
import type { Signer } from '../../../server/hsm/key-store.js';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import { parsePkcs11Uri } from '../../../server/hsm/pkcs11-uri.js';
import { ThreadSigning } from '../../../server/hsm/thread-signing.js';
import { makeTokens } from './token-fixture.js';

function capture(): { log: pino.Logger; lines: () => string[] } {
  let text = '';
  const sink = new Writable({ write(chunk, _enc, cb) { text += chunk; cb(); } });
  return { log: pino({ level: 'debug', redact: REDACT_PATHS }, sink), lines: () => text.split('\n').filter(Boolean) };
}

async function setup(t: Test, opts: { signerThread?: boolean; curve?: 'P-256' | 'P-384' } = {}) {
  const tok = makeTokens(t, ['line']);
  const { log, lines } = capture();
  const ks = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: tok.pin, sessions: 2, log, ...(opts.signerThread === false ? { signerThread: false } : {}) });
  t.teardown(() => ks.close());
  const curve = opts.curve ?? 'P-256';
  const ref = await ks.generateKeyPair({ label: 'issuing', curve });
  const signer = await ks.getSigner(ref);
  const key = createPublicKey({ key: Buffer.from(await signer.publicKeySpki()), format: 'der', type: 'spki' });
  return { tok, ks, ref, signer, key, lines, hash: curve === 'P-256' ? 'sha256' : 'sha384' };
}

const verifies = (key: KeyObject, hash: string, msg: Uint8Array, sig: Uint8Array) => verify(hash, msg, { key, dsaEncoding: 'ieee-p1363' }, sig);

/** Signs `n` distinct messages at once; each outcome is 'ok' (verifies), 'bad' (does not) or the error's code. */
async function signMany(signer: Signer, key: KeyObject, hash: string, n: number): Promise<string[]> {
  const msgs = Array.from({ length: n }, (_, i) => Buffer.from(`unit ${i}`));
  const out = await Promise.allSettled(msgs.map((m) => signer.sign(m)));
  return out.map((r, i) => (r.status === 'fulfilled' ? (verifies(key, hash, msgs[i]!, r.value) ? 'ok' : 'bad') : String((r.reason as { code?: string }).code)));
}

for (const curve of ['P-256', 'P-384'] as const) {
  t.test(`${curve}: concurrent signs in the thread all verify with the public key`, async (t) => {
    const { ks, signer, key, hash } = await setup(t, { curve });
    t.ok(await ks.threads!.ready(), 'the thread started');
    const before = ks.threads!.thread!.signed;
    const results = await signMany(signer, key, hash, 500);
    t.equal(results.filter((r) => r === 'ok').length, 500, 'every signature verifies');
    t.equal(ks.threads!.thread!.signed - before, 500, 'the thread signed them, not the loop');
    // signDigest: the caller hashed.
    const msg = Buffer.from('digest path');
    t.ok(verifies(key, hash, msg, await signer.signDigest(createHash(hash).update(msg).digest())));
    // The bytes are taken at the call: a caller reusing its buffer at once still gets its signature.
    const reused = Buffer.from('first');
    const pending = signer.sign(reused);
    reused.write('other');
    t.ok(verifies(key, hash, Buffer.from('first'), await pending), 'signed what was passed, not what the buffer became');
  });
}

t.test('a thread killed mid-flight rejects its pending signs with HSM_ERROR; the next sign works', async (t) => {
  const { ks, signer, key, hash, lines } = await setup(t);
  t.ok(await ks.threads!.ready());
  const first = ks.threads!.thread!;
  const inFlight = signMany(signer, key, hash, 2000);
  await new Promise((r) => setImmediate(r)); // the batch has left for the thread
  await first.terminate();
  const results = await inFlight;
  t.ok(results.every((r) => r === 'ok' || r === 'HSM_ERROR'), 'each either verifies or is a typed HSM_ERROR');
  t.ok(results.includes('HSM_ERROR'), 'the signs in flight were rejected');
  t.ok(verifies(key, hash, Buffer.from('next'), await signer.sign(Buffer.from('next'))), 'the next sign works at once');
  t.ok(await ks.threads!.ready(), 'a new thread started');
  t.not(ks.threads!.thread, first);
  t.same(await signMany(signer, key, hash, 50), Array(50).fill('ok'));
  t.ok(ks.threads!.thread!.signed > 0, 'the new thread signs');
  t.equal(lines().filter((l) => l.includes('signer thread exited')).length, 1, 'the death is logged once');
});

t.test('close() while signs are pending finishes or rejects them, without hanging', async (t) => {
  const { ks, signer, key, hash } = await setup(t);
  t.ok(await ks.threads!.ready());
  const inFlight = signMany(signer, key, hash, 1000);
  const started = Date.now();
  await ks.close();
  const results = await inFlight;
  t.ok(Date.now() - started < 4000, 'close() returned soon after its 2 s deadline at the latest');
  t.ok(results.every((r) => r === 'ok' || r === 'HSM_ERROR'), 'each either verifies or is a typed HSM_ERROR');
  await t.rejects(signer.sign(Buffer.from('after')), { code: 'HSM_ERROR' }, 'a closed store refuses');
});

t.test('the thread is given no PIN, and logs none', async (t) => {
  const { tok, ks, signer, lines } = await setup(t);
  t.ok(await ks.threads!.ready());
  const data = ks.threads!.thread!.workerData;
  t.same(Object.keys(data).sort(), ['module', 'pkcs11js', 'slot', 'tokenLabel']);
  t.notMatch(JSON.stringify(data), tok.pin);
  await ks.threads!.thread!.terminate();
  await signer.sign(Buffer.from('x'));
  t.ok(lines().length > 0);
  t.notOk(lines().some((l) => l.includes(tok.pin)), 'no log line carries the PIN');
});

for (const signerThread of [true, false]) {
  t.test(`a PKCS#11 error gives the same typed error (signerThread ${signerThread})`, async (t) => {
    const { ks, ref, signer } = await setup(t, { signerThread });
    if (signerThread) t.ok(await ks.threads!.ready());
    else t.equal(ks.threads, undefined, 'signerThread: false signs in the loop');
    const id = parsePkcs11Uri(ref).id!;
    await ks.pool.run('destroy', (s) => {
      const p11 = ks.pool.p11;
      p11.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_ID, value: Buffer.from(id) }]);
      const [h] = p11.C_FindObjects(s, 1);
      p11.C_FindObjectsFinal(s);
      p11.C_DestroyObject(s, h!);
    });
    await t.rejects(signer.sign(Buffer.from('gone')), { code: 'HSM_KEY_NOT_FOUND' }, 'the key is gone');
  });
}

t.test('a thread that cannot start leaves signing in the loop, logged once', async (t) => {
  const { log, lines } = capture();
  const threads = new ThreadSigning({ module: '/nonexistent/libpkcs11.so', slot: () => Buffer.alloc(8), log });
  const k = threads.register({ label: 'k', sigLen: 64 });
  const inLoop = async () => new Uint8Array([1, 2, 3]);
  t.same(await threads.sign(k, Buffer.from('m'), 1, inLoop), new Uint8Array([1, 2, 3]));
  t.equal(await threads.ready(), false);
  t.ok(threads.givenUp);
  t.same(await threads.sign(k, Buffer.from('m'), 1, inLoop), new Uint8Array([1, 2, 3]), 'still signs (in the loop)');
  t.equal(lines().filter((l) => l.includes('signing on the event loop from now on')).length, 1);
  await threads.close();
});
