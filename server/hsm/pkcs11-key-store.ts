/**
 * The KeyStore over a PKCS#11 token (pkcs11js directly; node-webcrypto-p11 is unsound under
 * concurrency). Keys are generated non-extractable on the token and found by their pkcs11: URI;
 * signing hashes in Node and signs the digest with CKM_ECDSA, because SoftHSM 2.6 has no
 * CKM_ECDSA_SHA256. Signers sign in a thread of their own (thread-signing.ts) with the
 * synchronous C_Sign, measured ~3x faster than C_SignAsync; in the event loop when that thread is
 * switched off (`signerThread: false`), not yet ready or unable to run.
 */
import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { HsmError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { GenerateKeyRequest, KeyStore, KeyUsageAttributes, Signer, StoredKey } from './key-store.js';
import { CURVES, curveFromParams, spkiFromEcPoint } from './ec-key-info.js';
import { openPkcs11Module, type Pkcs11Module } from './pkcs11-module.js';
import { Pkcs11SessionPool } from './pkcs11-session-pool.js';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';
import { ThreadSigning } from './thread-signing.js';

/** How to reach the token. */
export interface Pkcs11KeyStoreOptions {
  /** Module path; SoftHSM2 is auto-detected when absent. */
  module?: string;
  /** SoftHSM2 config file, exported as SOFTHSM2_CONF before the module loads. */
  softhsmConf?: string;
  tokenLabel: string;
  pin: string;
  /** Session pool size; defaults to the number of cores. */
  sessions?: number;
  /** Sign in a thread of its own, off the event loop (default true); false signs in the loop. */
  signerThread?: boolean;
  log?: Logger;
}

const USAGE_ATTRIBUTES = {
  sensitive: pkcs11js.CKA_SENSITIVE, extractable: pkcs11js.CKA_EXTRACTABLE, sign: pkcs11js.CKA_SIGN,
  decrypt: pkcs11js.CKA_DECRYPT, unwrap: pkcs11js.CKA_UNWRAP, derive: pkcs11js.CKA_DERIVE,
} as const;

/** A KeyStore backed by one PKCS#11 token. */
export class Pkcs11KeyStore implements KeyStore {
  readonly hardware = true;
  readonly tokenLabel: string;
  readonly pool: Pkcs11SessionPool;
  readonly #module: Pkcs11Module;
  readonly #signers = new Map<string, Promise<Signer>>();
  /** The signer thread; undefined when signing stays in the event loop by configuration. */
  readonly threads: ThreadSigning | undefined;

  private constructor(module: Pkcs11Module, pool: Pkcs11SessionPool, opts: Pkcs11KeyStoreOptions) {
    this.#module = module;
    this.pool = pool;
    this.tokenLabel = pool.tokenLabel;
    if (opts.signerThread !== false) {
      // The thread follows the pool: when the pool re-finds its token by label in another slot, the thread moves there.
      this.threads = new ThreadSigning({ module: module.path, slot: () => pool.slot, generation: () => pool.generation, tokenLabel: pool.tokenLabel, log: opts.log });
    }
  }

  /** Loads the module (shared per process), finds the token by label and logs in once. */
  static open(opts: Pkcs11KeyStoreOptions): Pkcs11KeyStore {
    const module = openPkcs11Module({ path: opts.module, softhsmConf: opts.softhsmConf });
    try {
      return new Pkcs11KeyStore(module, Pkcs11SessionPool.open({ module, tokenLabel: opts.tokenLabel, pin: opts.pin, size: opts.sessions, log: opts.log }), opts);
    } catch (err) {
      module.release();
      throw err;
    }
  }

  /** A Signer for the private key named by `ref` (a pkcs11: URI with object= and/or id=). */
  getSigner(ref: string): Promise<Signer> {
    let s = this.#signers.get(ref);
    if (!s) {
      s = this.#makeSigner(ref);
      s.catch(() => this.#signers.delete(ref));
      this.#signers.set(ref, s);
    }
    return s;
  }

  /**
   * Generates an EC key pair on the token: private part CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
   * never CKA_EXTRACTABLE (PKCS#11 v2.40 §4.9), so its value can never be read out; and sign-only:
   * no decrypt, unwrap, derive or sign-recover, so a CA key cannot be turned into a key-transport
   * or key-agreement oracle (one key, one purpose: NIST SP 800-57 Part 1 §5.2).
   */
  async generateKeyPair(req: GenerateKeyRequest): Promise<string> {
    const id = req.id ? Buffer.from(req.id, 'hex') : createHash('sha1').update(req.label).digest().subarray(0, 8);
    const curve = CURVES[req.curve];
    if (!curve) throw new HsmError('HSM_ERROR', `curve: unsupported '${req.curve}' (P-256 or P-384)`);
    return this.pool.run(`generating key '${req.label}'`, (session) => {
      if (findObjects(this.pool.p11, session, { label: req.label }, pkcs11js.CKO_PRIVATE_KEY).length > 0) {
        throw new HsmError('HSM_KEY_EXISTS', `token '${this.tokenLabel}' already holds a private key labelled '${req.label}'`);
      }
      const common = [
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_LABEL, value: req.label },
        { type: pkcs11js.CKA_ID, value: id },
      ];
      this.pool.p11.C_GenerateKeyPair(
        session,
        { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
        [
          ...common,
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
          { type: pkcs11js.CKA_PRIVATE, value: false },
          { type: pkcs11js.CKA_VERIFY, value: true },
          { type: pkcs11js.CKA_VERIFY_RECOVER, value: false },
          { type: pkcs11js.CKA_ENCRYPT, value: false },
          { type: pkcs11js.CKA_WRAP, value: false },
          { type: pkcs11js.CKA_DERIVE, value: false },
          { type: pkcs11js.CKA_EC_PARAMS, value: curve.params },
        ],
        [
          ...common,
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
          { type: pkcs11js.CKA_SIGN, value: true },
          { type: pkcs11js.CKA_SIGN_RECOVER, value: false },
          { type: pkcs11js.CKA_DECRYPT, value: false },
          { type: pkcs11js.CKA_UNWRAP, value: false },
          { type: pkcs11js.CKA_DERIVE, value: false },
        ],
      );
      return formatPkcs11Uri({ token: this.tokenLabel, object: req.label, id });
    });
  }

  /** Every private key on the token, for the start-up guards (root key on the line, key present). */
  async listPrivateKeys(): Promise<StoredKey[]> {
    const p11 = this.pool.p11;
    const found = await this.pool.run('listing private keys', (session) => {
      const gen = this.pool.generation;
      return findObjects(p11, session, {}, pkcs11js.CKO_PRIVATE_KEY).map((h) => {
        const [label, id, keyType] = p11.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_LABEL }, { type: pkcs11js.CKA_ID }, { type: pkcs11js.CKA_KEY_TYPE }]).map((a) => a.value);
        const isEc = keyType!.readUInt32LE(0) === pkcs11js.CKK_EC;
        const curve = isEc ? curveFromParams(p11.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_EC_PARAMS }])[0]!.value) : undefined;
        let publicKeySpki: Uint8Array | undefined;
        if (curve) {
          const pub = findObjects(p11, session, { id: id! }, pkcs11js.CKO_PUBLIC_KEY)[0];
          if (pub) publicKeySpki = spkiFromEcPoint(curve, p11.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_EC_POINT }])[0]!.value);
        }
        const names = Object.keys(USAGE_ATTRIBUTES) as Array<keyof KeyUsageAttributes>;
        const values = p11.C_GetAttributeValue(session, h, names.map((n) => ({ type: USAGE_ATTRIBUTES[n] })));
        const usage = Object.fromEntries(names.map((n, i) => [n, values[i]!.value[0] === 1])) as unknown as KeyUsageAttributes;
        return { handle: h, gen, label: label!.toString('utf8'), id: id!, curve, publicKeySpki, usage };
      });
    });
    return found.map(({ handle, gen, label, id, curve, publicKeySpki, usage }) => ({
      label, idHex: id.toString('hex'), curve, publicKeySpki, usage,
      // Signs through the object handle itself: a key without a public object (e.g. one imported by hand) must still be testable.
      signDigest: (digest: Uint8Array) =>
        this.pool.run(`signing with key '${label}'`, (session) => {
          if (gen !== this.pool.generation) throw new HsmError('HSM_ERROR', `key '${label}': the token was reopened since it was listed; list again`);
          this.pool.p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, handle);
          return new Uint8Array(this.pool.p11.C_Sign(session, Buffer.from(digest), Buffer.alloc(curve ? CURVES[curve].sigLen : 132)));
        }),
    }));
  }

  /** Ends the signer thread (before the module can be finalised under it), closes the sessions and releases the module. */
  async close(): Promise<void> {
    await this.threads?.close();
    await this.pool.close();
    this.#module.release();
  }

  async #makeSigner(ref: string): Promise<Signer> {
    let uri: Pkcs11Uri;
    try {
      uri = parsePkcs11Uri(ref);
    } catch (err) {
      throw new HsmError('HSM_KEY_NOT_FOUND', `key reference '${ref}' is not a pkcs11: URI`, { cause: err });
    }
    if (uri.token !== undefined && uri.token !== this.tokenLabel) throw new HsmError('HSM_KEY_NOT_FOUND', `key '${ref}': token '${uri.token}' is not this store's token '${this.tokenLabel}'`);
    if (uri.object === undefined && uri.id === undefined) throw new HsmError('HSM_KEY_NOT_FOUND', `key '${ref}': names neither object= nor id=`);
    const p11 = this.pool.p11;
    // Object handles are per application and die with the last session, so they are cached per pool generation.
    let cached: { gen: number; handle: Buffer } | undefined;
    const find = (session: Buffer): Buffer => {
      if (cached?.gen === this.pool.generation) return cached.handle;
      const hits = findObjects(p11, session, { label: uri.object, id: uri.id }, pkcs11js.CKO_PRIVATE_KEY);
      if (hits.length === 0) throw new HsmError('HSM_KEY_NOT_FOUND', `no private key '${ref}' on token '${this.tokenLabel}'`);
      if (hits.length > 1) throw new HsmError('HSM_ERROR', `key '${ref}' is ambiguous: ${hits.length} private keys match on token '${this.tokenLabel}'`);
      cached = { gen: this.pool.generation, handle: hits[0]! };
      return cached.handle;
    };
    const { curve, spki } = await this.pool.run(`reading key '${ref}'`, (session) => {
      const h = find(session);
      const [params, id] = p11.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_ID }]).map((a) => a.value);
      const curve = curveFromParams(params!);
      if (!curve) throw new HsmError('HSM_ERROR', `key '${ref}': unsupported curve (CKA_EC_PARAMS ${params!.toString('hex')})`);
      const pub = findObjects(p11, session, { label: uri.object, id: id! }, pkcs11js.CKO_PUBLIC_KEY);
      if (pub.length !== 1) throw new HsmError('HSM_KEY_NOT_FOUND', `key '${ref}': expected one matching public key object, found ${pub.length}`);
      return { curve, spki: spkiFromEcPoint(curve, p11.C_GetAttributeValue(session, pub[0]!, [{ type: pkcs11js.CKA_EC_POINT }])[0]!.value) };
    });
    const { sigLen, hash } = CURVES[curve];
    const inLoop = (digest: Uint8Array): Promise<Uint8Array> =>
      this.pool.run(`signing with '${ref}'`, (session) => {
        // A stale handle (CKR_KEY_HANDLE_INVALID) makes the pool log in again and bump its generation, so find() looks again.
        p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, find(session));
        return new Uint8Array(p11.C_Sign(session, Buffer.from(digest), Buffer.alloc(sigLen)));
      });
    const inLoopHashing = (message: Uint8Array) => inLoop(createHash(hash).update(message).digest());
    const threads = this.threads;
    if (!threads) return { keyRef: ref, curve, publicKeySpki: async () => spki, signDigest: inLoop, sign: inLoopHashing };
    // The thread finds the key itself; whatever it cannot sign is signed in the loop, which maps the error as ever.
    const k = threads.register({ label: uri.object, id: uri.id, sigLen });
    const mode = hash === 'sha256' ? 1 : 2;
    return {
      keyRef: ref,
      curve,
      publicKeySpki: async () => spki,
      signDigest: (digest) => threads.sign(k, digest, 0, () => inLoop(digest)),
      sign: (message) => threads.sign(k, message, mode, () => inLoopHashing(message)),
    };
  }
}

/** C_FindObjects over class + optional label/id, always finalised. */
function findObjects(p11: pkcs11js.PKCS11, session: Buffer, by: { label?: string; id?: Uint8Array }, cls: number): Buffer[] {
  const tmpl: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: cls }];
  if (by.label !== undefined) tmpl.push({ type: pkcs11js.CKA_LABEL, value: by.label });
  if (by.id !== undefined) tmpl.push({ type: pkcs11js.CKA_ID, value: Buffer.from(by.id) });
  p11.C_FindObjectsInit(session, tmpl);
  try {
    const out: Buffer[] = [];
    for (;;) {
      const batch = p11.C_FindObjects(session, 64);
      out.push(...batch);
      if (batch.length < 64) return out;
    }
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}
