/**
 * The signer thread's own code, plain CommonJS run by `new Worker(source, { eval: true })` so
 * that the thread needs no TypeScript loader (as wal-checkpointer.ts does).
 *
 * The thread loads the same PKCS#11 module the process already initialised (dlopen hands back
 * the same library, so C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED: success here) and
 * opens one session of its own on the slot it is given (checking the token there bears the
 * label it is given). Login state belongs to the application, not the session
 * (PKCS#11 v2.40 §5.6), so that session is logged in as soon as the main thread's pool is: the
 * thread never sees the PIN. It finds each key by label and/or CKA_ID itself (object handles
 * are per application, but a handle found here is re-found here after a session loss).
 *
 * Protocol (one message per loop turn each way):
 *  in  { t: 'key', k, label?, id?, sigLen }       registers key number k
 *  in  { t: 'sign', seq, data, meta }            data: the items back to back; meta: Int32Array
 *                                                [k, end, mode] per item (mode 0: data is the
 *                                                digest, 1: SHA-256 it first, 2: SHA-384)
 *  out { t: 'signed', seq, sigs, ends, failed }  sigs: the signatures back to back (a Uint8Array
 *                                                of its own, Buffer.alloc never pools), ends: where
 *                                                each ends; failed: [index, message][] or null
 *  in  { t: 'close' }                            closes the session and lets the thread end
 *  out { t: 'ready' }                            once the session is open
 */
export const SIGNER_THREAD_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const pkcs11js = require(workerData.pkcs11js);
const p11 = new pkcs11js.PKCS11();
p11.load(workerData.module);
try {
  p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
} catch (err) {
  if (!(err instanceof pkcs11js.Pkcs11Error) || err.code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
}
const slot = Buffer.from(workerData.slot);
const LOST = new Set([
  pkcs11js.CKR_SESSION_HANDLE_INVALID, pkcs11js.CKR_SESSION_CLOSED, pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT, pkcs11js.CKR_USER_NOT_LOGGED_IN, pkcs11js.CKR_OBJECT_HANDLE_INVALID,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
]);
const HASHES = [undefined, 'sha256', 'sha384'];
const MECH = { mechanism: pkcs11js.CKM_ECDSA };
const keys = new Map();
let session;

function openSession() {
  // Slots are re-numbered when tokens come and go: the key store re-finds its token by label and
  // restarts this thread on the new slot, but until then this slot may hold another token
  // (logged in by another store, with a key of the same label): never sign there.
  if (workerData.tokenLabel !== undefined) {
    const label = p11.C_GetTokenInfo(slot).label.trimEnd();
    if (label !== workerData.tokenLabel) throw new Error('slot holds token ' + JSON.stringify(label) + ', not ' + JSON.stringify(workerData.tokenLabel));
  }
  session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  for (const key of keys.values()) key.handle = undefined;
}

function handleOf(key) {
  if (key.handle) return key.handle;
  const tmpl = [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }];
  if (key.label !== undefined) tmpl.push({ type: pkcs11js.CKA_LABEL, value: key.label });
  if (key.id !== undefined) tmpl.push({ type: pkcs11js.CKA_ID, value: Buffer.from(key.id) });
  p11.C_FindObjectsInit(session, tmpl);
  let hits;
  try { hits = p11.C_FindObjects(session, 2); } finally { p11.C_FindObjectsFinal(session); }
  if (hits.length !== 1) throw new Error(hits.length + ' private keys match');
  key.handle = hits[0];
  return key.handle;
}

function signOne(key, digest, out) {
  p11.C_SignInit(session, MECH, handleOf(key));
  return p11.C_Sign(session, digest, out).length;
}

function signBatch(m) {
  const n = m.meta.length / 3;
  let total = 0;
  for (let i = 0; i < n; i++) total += keys.get(m.meta[3 * i]).sigLen;
  const sigs = Buffer.alloc(total);
  const ends = new Int32Array(n);
  let failed = null;
  let start = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const key = keys.get(m.meta[3 * i]);
    const end = m.meta[3 * i + 1];
    const hash = HASHES[m.meta[3 * i + 2]];
    const bytes = m.data.subarray(start, end);
    start = end;
    const digest = hash ? createHash(hash).update(bytes).digest() : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const out = sigs.subarray(at, at + key.sigLen);
    let len = 0;
    try {
      try {
        len = signOne(key, digest, out);
      } catch (err) {
        // A lost session or handle (token re-inserted, logged out): reopen and try once more.
        if (!(err instanceof pkcs11js.Pkcs11Error) || !LOST.has(err.code)) throw err;
        try { p11.C_CloseSession(session); } catch {}
        openSession();
        len = signOne(key, digest, out);
      }
    } catch (err) {
      (failed ??= []).push([i, String(err && err.message || err)]);
    }
    at += len;
    ends[i] = at;
  }
  parentPort.postMessage({ t: 'signed', seq: m.seq, sigs, ends, failed });
}

parentPort.on('message', (m) => {
  if (m.t === 'sign') return signBatch(m);
  if (m.t === 'key') return void keys.set(m.k, { label: m.label, id: m.id, sigLen: m.sigLen, handle: undefined });
  if (m.t === 'close') {
    try { p11.C_CloseSession(session); } catch {}
    parentPort.close();
  }
});
openSession();
parentPort.postMessage({ t: 'ready' });
`;
