/**
 * A node:crypto `Signer` for pure unit tests: the project's only software signer. The server and
 * integration tests sign through SoftHSM; this exists so CA logic can be tested without a token.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign as cryptoSign } from 'node:crypto';
import type { Signer } from '../../server/hsm/key-store.js';

/** A P-256 software signer with its key objects exposed for test assertions. */
export interface SoftSigner extends Signer {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Raw X‖Y of the public key (64 bytes). */
  readonly publicKeyRaw: Uint8Array;
}

/** Wraps an existing P-256 private key (or makes a new one) as a `Signer`. */
export function createSoftSigner(privateKey?: KeyObject, keyRef = 'soft:test'): SoftSigner {
  // A fresh key goes through PKCS#8 first: a generateKeyPairSync key exported as JWK (below, and
  // by tests) can deadlock Node 20 (see p256Key in test/server/services/helpers.ts).
  const priv = privateKey ?? createPrivateKey({ key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' }), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(priv);
  const spki = new Uint8Array(pub.export({ format: 'der', type: 'spki' }));
  const d = BigInt('0x' + Buffer.from(priv.export({ format: 'jwk' }).d!, 'base64url').toString('hex'));
  return {
    keyRef,
    curve: 'P-256',
    privateKey: priv,
    publicKey: pub,
    publicKeyRaw: spki.slice(spki.length - 64),
    async publicKeySpki() {
      return spki;
    },
    async sign(message: Uint8Array) {
      return new Uint8Array(cryptoSign('sha256', message, { key: priv, dsaEncoding: 'ieee-p1363' }));
    },
    async signDigest(digest: Uint8Array) {
      // node:crypto always hashes what it signs, so a prehashed digest is signed here with plain
      // BigInt ECDSA (SEC 1 §4.1.3); slow (milliseconds) but only tests use it.
      if (digest.length !== 32) throw new Error(`digest must be 32 bytes, got ${digest.length}`);
      return ecdsaSignDigest(d, digest);
    },
  };
}

// P-256 domain parameters (SEC 2 §2.4.2).
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G: [bigint, bigint] = [
  0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
];
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return mod(s0, m);
}
function add(p: [bigint, bigint] | null, q: [bigint, bigint] | null): [bigint, bigint] | null {
  if (!p) return q;
  if (!q) return p;
  if (p[0] === q[0] && mod(p[1] + q[1], P) === 0n) return null;
  const l = p[0] === q[0] ? mod((3n * p[0] * p[0] + A) * inv(2n * p[1], P), P) : mod((q[1] - p[1]) * inv(q[0] - p[0], P), P);
  const x = mod(l * l - p[0] - q[0], P);
  return [x, mod(l * (p[0] - x) - p[1], P)];
}
function mul(k: bigint, pt: [bigint, bigint]): [bigint, bigint] | null {
  let r: [bigint, bigint] | null = null;
  let a: [bigint, bigint] | null = pt;
  for (; k > 0n; k >>= 1n) {
    if (k & 1n) r = add(r, a);
    a = add(a, a);
  }
  return r;
}
function ecdsaSignDigest(d: bigint, digest: Uint8Array): Uint8Array {
  const e = BigInt('0x' + Buffer.from(digest).toString('hex'));
  for (;;) {
    const k = mod(BigInt('0x' + randomBytes(40).toString('hex')), N - 1n) + 1n;
    const r = mod(mul(k, G)![0], N);
    const s = mod(inv(k, N) * (e + r * d), N);
    if (r === 0n || s === 0n) continue;
    return new Uint8Array(Buffer.from(r.toString(16).padStart(64, '0') + s.toString(16).padStart(64, '0'), 'hex'));
  }
}

/** SHA-256 helper for tests comparing digests. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}
