/**
 * The signer thread follows its key store's token to another slot. On SoftHSM, a token deleted
 * (softhsm2-util --delete-token) and made again under the same label comes back in another slot,
 * as a token pulled out of a real HSM and put back may; the same key is imported into it again
 * (C_CreateObject), so signatures still verify with the public key the signer reported first.
 * The store re-finds its token by label; the thread used to stay on the old slot, fail every
 * sign and leave them all to the event loop until the process restarted.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import pkcs11js from 'pkcs11js';
import t, { type Test } from 'tap';
import { REDACT_PATHS } from '../../../common/log.js';
import { CURVES } from '../../../server/hsm/ec-key-info.js';
import type { Signer } from '../../../server/hsm/key-store.js';
import { openPkcs11Module, type Pkcs11Module } from '../../../server/hsm/pkcs11-module.js';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import { formatPkcs11Uri } from '../../../server/hsm/pkcs11-uri.js';
import { initSoftHsmToken } from '../../../server/hsm/softhsm.js';
import { ThreadSigning } from '../../../server/hsm/thread-signing.js';
import { makeTokens, type TestTokens } from './token-fixture.js';

const hasSoftHsmUtil = (() => {
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A P-256 key made in software, to be imported into tokens (so two tokens can hold the same key). */
function softwareKey(): { d: Buffer; point: Buffer; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const b = (s: string | undefined) => Buffer.from(s!, 'base64url');
  return { d: b(jwk.d), point: Buffer.concat([Buffer.from([0x04]), b(jwk.x), b(jwk.y)]), publicKey };
}

/** Imports `key` into the token labelled `token` as a sign-only private key and its public key, both labelled `label`. */
function importKey(module: Pkcs11Module, tok: TestTokens, token: string, label: string, id: Buffer, key: { d: Buffer; point: Buffer }): void {
  const p11 = module.p11;
  const session = p11.C_OpenSession(module.findSlot(token), pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    try {
      p11.C_Login(session, pkcs11js.CKU_USER, tok.pin);
    } catch (err) {
      if ((err as { code?: number }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw err;
    }
    const common = [
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC }, { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_ID, value: id }, { type: pkcs11js.CKA_EC_PARAMS, value: CURVES['P-256'].params },
    ];
    p11.C_CreateObject(session, [...common, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true }, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_VALUE, value: key.d }]);
    // DER OCTET STRING around the uncompressed point, as CKA_EC_POINT holds it.
    p11.C_CreateObject(session, [...common, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: pkcs11js.CKA_VERIFY, value: true },
      { type: pkcs11js.CKA_EC_POINT, value: Buffer.concat([Buffer.from([0x04, key.point.length]), key.point]) }]);
  } finally {
    p11.C_CloseSession(session);
  }
}

function capture(): { log: pino.Logger; text: () => string } {
  let text = '';
  const sink = new Writable({ write(chunk, _enc, cb) { text += chunk; cb(); } });
  return { log: pino({ level: 'debug', redact: REDACT_PATHS }, sink), text: () => text };
}

const ID = Buffer.from('0a0b0c0d', 'hex');

async function setup(t: Test) {
  const tok = makeTokens(t, ['line']);
  const module = openPkcs11Module({ softhsmConf: tok.conf });
  t.teardown(() => module.release());
  const key = softwareKey();
  importKey(module, tok, 'line', 'issuing', ID, key);
  const { log, text } = capture();
  const ks = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'line', pin: tok.pin, sessions: 2, log });
  t.teardown(() => ks.close());
  const signer = await ks.getSigner(formatPkcs11Uri({ token: 'line', object: 'issuing', id: ID }));
  t.same(Buffer.from(await signer.publicKeySpki()), key.publicKey.export({ format: 'der', type: 'spki' }), 'the token holds the imported key');
  return { tok, module, key, ks, signer, text };
}

/** Signs `n` distinct messages at once; how many verify with `publicKey`, and how many the current thread made. */
async function signMany(ks: Pkcs11KeyStore, signer: Signer, publicKey: KeyObject, n: number): Promise<{ ok: number; byThread: number }> {
  const before = ks.threads!.thread?.signed ?? 0;
  const thread = ks.threads!.thread;
  const msgs = Array.from({ length: n }, (_, i) => Buffer.from(`unit ${i} ${Math.random()}`));
  const sigs = await Promise.all(msgs.map((m) => signer.sign(m)));
  const ok = sigs.filter((s, i) => verify('sha256', msgs[i]!, { key: publicKey, dsaEncoding: 'ieee-p1363' }, s)).length;
  return { ok, byThread: ks.threads!.thread === thread ? (thread?.signed ?? 0) - before : 0 };
}

t.test('a token back in another slot: signatures keep verifying, and the thread moves to the new slot', { skip: hasSoftHsmUtil ? false : 'softhsm2-util is not installed' }, async (t) => {
  const { tok, module, key, ks, signer, text } = await setup(t);
  t.ok(await ks.threads!.ready());
  t.same(await signMany(ks, signer, key.publicKey, 100), { ok: 100, byThread: 100 }, 'before: the thread signs');
  const oldSlot = Buffer.from(ks.pool.slot);
  const oldThread = ks.threads!.thread!;

  execFileSync('softhsm2-util', ['--delete-token', '--token', 'line'], { env: { ...process.env, SOFTHSM2_CONF: tok.conf }, stdio: 'ignore' });
  await t.rejects(signer.sign(Buffer.from('while absent')), { code: 'HSM_ERROR' }, 'no token: a typed error');

  initSoftHsmToken(module, { label: 'line', soPin: tok.soPin, userPin: tok.pin });
  importKey(module, tok, 'line', 'issuing', ID, key);
  t.not(module.findSlot('line').toString('hex'), oldSlot.toString('hex'), 'the token came back in another slot');

  const first = await signMany(ks, signer, key.publicKey, 100);
  t.equal(first.ok, 100, 'every signature right after the move verifies with the same public key');
  t.not(ks.pool.slot.toString('hex'), oldSlot.toString('hex'), 'the store found its token in the new slot');
  // Within a short time the signs are made on a thread again, one on the new slot.
  let byThread = 0;
  for (const deadline = Date.now() + 5000; byThread === 0 && Date.now() < deadline; await sleep(20)) {
    byThread = (await signMany(ks, signer, key.publicKey, 20)).byThread;
  }
  t.ok(byThread > 0, 'signing went back to a thread');
  const thread = ks.threads!.thread!;
  t.not(thread, oldThread, 'a new thread');
  t.same(Buffer.from(thread.workerData.slot), ks.pool.slot, 'on the slot the store found its token in');
  t.same(await signMany(ks, signer, key.publicKey, 200), { ok: 200, byThread: 200 }, 'after: the thread signs every one, and they verify');
  t.notOk(ks.threads!.givenUp);
  t.equal(text().split('\n').filter((l) => l.includes('moving the signer thread there')).length, 1, 'the move is logged once');
  t.notMatch(text(), tok.pin, 'no log line carries the PIN');
});

t.test('a token put back in the same slot keeps its thread (no needless restart)', async (t) => {
  const { ks, signer, key } = await setup(t);
  t.ok(await ks.threads!.ready());
  const thread = ks.threads!.thread!;
  const gen = ks.pool.generation;
  ks.pool.p11.C_CloseAllSessions(ks.pool.slot);
  t.equal((await signMany(ks, signer, key.publicKey, 50)).ok, 50);
  t.equal(ks.pool.generation, gen + 1, 'the store reopened its sessions');
  t.same(await signMany(ks, signer, key.publicKey, 50), { ok: 50, byThread: 50 }, 'the same thread signs');
  t.equal(ks.threads!.thread, thread);
});

t.test('a thread given a slot that holds another token refuses to sign there', async (t) => {
  const tok = makeTokens(t, ['line', 'other']);
  const module = openPkcs11Module({ softhsmConf: tok.conf });
  t.teardown(() => module.release());
  // The other token is logged in (another store of this process) and holds a key of the same label.
  importKey(module, tok, 'other', 'issuing', ID, softwareKey());
  const other = Pkcs11KeyStore.open({ softhsmConf: tok.conf, tokenLabel: 'other', pin: tok.pin, sessions: 1, signerThread: false });
  t.teardown(() => other.close());
  const threads = new ThreadSigning({ module: module.path, slot: () => module.findSlot('other'), tokenLabel: 'line' });
  t.teardown(() => threads.close());
  const k = threads.register({ label: 'issuing', id: ID, sigLen: 64 });
  t.equal(await threads.ready(), false, 'the thread does not start on the wrong token');
  t.same(await threads.sign(k, Buffer.from('m'), 1, async () => new Uint8Array([7])), new Uint8Array([7]), 'signing stays with the caller');
});
