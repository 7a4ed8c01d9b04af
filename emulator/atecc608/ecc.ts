/**
 * P-256 for the chip model. The chip signs and verifies a 32-byte digest it is given (TempKey or
 * the message-digest buffer), not a message: node's crypto.sign always hashes, so signing uses
 * node's native scalar multiplication (ECDH) for k·G and BigInt for the rest of ECDSA (FIPS 186-4
 * §6.4), with nonces prepared in batches (one inversion per batch); verification, rare on the
 * line, is plain BigInt arithmetic.
 */
import { createECDH, randomBytes } from 'node:crypto';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

/** A private key as the chip keeps it, with its public key (X‖Y, 64 bytes) computed once. */
export interface EccKey {
  d: bigint;
  publicKey: Uint8Array;
}

/** Big-endian bytes to a BigInt. */
export function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

/** A BigInt to `len` big-endian bytes. */
export function toBytes(x: bigint, len = 32): Uint8Array {
  return Uint8Array.from(Buffer.from(x.toString(16).padStart(len * 2, '0'), 'hex'));
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inv(a: bigint, m: bigint): bigint {
  // Extended Euclid: much faster in BigInt than Fermat's a^(m-2).
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

/** True when `d` (32 bytes) is a valid P-256 private scalar (1 <= d < n). */
export function isValidScalar(d: Uint8Array): boolean {
  const x = toBig(d);
  return x > 0n && x < N;
}

/** The key for scalar `d`; throws when `d` is out of range (callers answer ECC fault). */
export function keyFromScalar(d: Uint8Array): EccKey {
  if (!isValidScalar(d)) throw new RangeError('private scalar out of range');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(d));
  return { d: toBig(d), publicKey: new Uint8Array(ecdh.getPublicKey().subarray(1)) };
}

/** A fresh random private scalar (32 bytes) in range. */
export function randomScalar(): Uint8Array {
  for (;;) {
    const d = new Uint8Array(randomBytes(32));
    if (isValidScalar(d)) return d;
  }
}

/** Nonces per refill of the signing pool (one modular inversion serves them all). */
const POOL_SIZE = 64;
const pool: { kInv: bigint; r: bigint }[] = [];

/**
 * Refills the pool of one-use signing nonces: for each random k, r = x(k·G) mod n (OpenSSL's
 * scalar multiplication), and k⁻¹ mod n for the whole batch from one inversion (Montgomery's
 * trick), since a BigInt inversion costs more than the rest of a signature.
 */
function refillPool(): void {
  const ecdh = createECDH('prime256v1');
  const ks: bigint[] = [];
  const rs: bigint[] = [];
  while (ks.length < POOL_SIZE) {
    // OpenSSL draws k uniformly in [1, n-1] and computes k·G in one call (cheaper than our own
    // draw followed by setPrivateKey, which also checks the scalar).
    ecdh.generateKeys();
    const r = mod(toBig(ecdh.getPublicKey().subarray(1, 33)), N);
    if (r === 0n) continue;
    ks.push(toBig(ecdh.getPrivateKey()));
    rs.push(r);
  }
  const prefix: bigint[] = new Array(ks.length);
  let acc = 1n;
  for (let i = 0; i < ks.length; i++) {
    prefix[i] = acc;
    acc = (acc * ks[i]!) % N;
  }
  let accInv = inv(acc, N);
  for (let i = ks.length - 1; i >= 0; i--) {
    pool.push({ kInv: (accInv * prefix[i]!) % N, r: rs[i]! });
    accInv = (accInv * ks[i]!) % N;
  }
}

/** ECDSA signature r‖s (64 bytes) of a 32-byte digest, as the chip outputs it; each nonce is used once. */
export function signDigest(key: EccKey, digest: Uint8Array): Uint8Array {
  const e = toBig(digest);
  for (;;) {
    if (pool.length === 0) refillPool();
    const { kInv, r } = pool.pop()!;
    const s = mod(kInv * (e + r * key.d), N);
    if (s === 0n) continue;
    const out = new Uint8Array(64);
    out.set(toBytes(r), 0);
    out.set(toBytes(s), 32);
    return out;
  }
}

/** True when X‖Y (64 bytes) is a point on P-256. */
export function isOnCurve(pub: Uint8Array): boolean {
  if (pub.length !== 64) return false;
  const x = toBig(pub.subarray(0, 32));
  const y = toBig(pub.subarray(32));
  if (x >= P || y >= P) return false;
  return mod(y * y - (x * x * x - 3n * x + B), P) === 0n;
}

type Jac = [bigint, bigint, bigint];

function jDouble([x, y, z]: Jac): Jac {
  if (y === 0n || z === 0n) return [0n, 1n, 0n];
  // a = -3 doubling (dbl-2001-b).
  const d = mod(z * z, P);
  const g = mod(y * y, P);
  const b = mod(x * g, P);
  const a = mod(3n * (x - d) * (x + d), P);
  const x3 = mod(a * a - 8n * b, P);
  const z3 = mod((y + z) * (y + z) - g - d, P);
  const y3 = mod(a * (4n * b - x3) - 8n * g * g, P);
  return [x3, y3, z3];
}

function jAdd(p: Jac, q: Jac): Jac {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const z1z1 = mod(p[2] * p[2], P);
  const z2z2 = mod(q[2] * q[2], P);
  const u1 = mod(p[0] * z2z2, P);
  const u2 = mod(q[0] * z1z1, P);
  const s1 = mod(p[1] * q[2] * z2z2, P);
  const s2 = mod(q[1] * p[2] * z1z1, P);
  if (u1 === u2) return s1 === s2 ? jDouble(p) : [0n, 1n, 0n];
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const h2 = mod(h * h, P);
  const h3 = mod(h * h2, P);
  const x3 = mod(r * r - h3 - 2n * u1 * h2, P);
  const y3 = mod(r * (u1 * h2 - x3) - s1 * h3, P);
  const z3 = mod(h * p[2] * q[2], P);
  return [x3, y3, z3];
}

function mulAdd(a: bigint, b: bigint, q: Jac): Jac {
  // Shamir's trick: a·G + b·Q in one pass.
  const g: Jac = [GX, GY, 1n];
  const gq = jAdd(g, q);
  let acc: Jac = [0n, 1n, 0n];
  for (let i = 255; i >= 0; i--) {
    acc = jDouble(acc);
    const ba = (a >> BigInt(i)) & 1n;
    const bb = (b >> BigInt(i)) & 1n;
    if (ba && bb) acc = jAdd(acc, gq);
    else if (ba) acc = jAdd(acc, g);
    else if (bb) acc = jAdd(acc, q);
  }
  return acc;
}

/** ECDSA verification of r‖s over a 32-byte digest with public key X‖Y. */
export function verifyDigest(pub: Uint8Array, digest: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64 || !isOnCurve(pub)) return false;
  const r = toBig(sig.subarray(0, 32));
  const s = toBig(sig.subarray(32));
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const w = inv(s, N);
  const e = toBig(digest);
  const X = mulAdd(mod(e * w, N), mod(r * w, N), [toBig(pub.subarray(0, 32)), toBig(pub.subarray(32)), 1n]);
  if (X[2] === 0n) return false;
  const zinv = inv(X[2], P);
  const x = mod(X[0] * zinv * zinv, P);
  return mod(x, N) === r;
}

/** ECDH shared secret (the X coordinate, 32 bytes) of `key` and the peer point X‖Y. */
export function ecdhSecret(key: EccKey, peer: Uint8Array): Uint8Array {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(toBytes(key.d)));
  return new Uint8Array(ecdh.computeSecret(Buffer.concat([Buffer.of(4), Buffer.from(peer)])));
}
