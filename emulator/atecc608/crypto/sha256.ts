/**
 * SHA-256 (FIPS 180-4) with its intermediate state exposed, as the 608's SHA engine keeps it: the
 * SHA command buffers a partial block between Update calls and can save and restore its context
 * (modes 0x06/0x07), which node's crypto.Hash cannot. The context format is the chip's as
 * cryptoauthlib's sha_context test shows it: total message bytes (4, little-endian), the eight
 * state words H0..H7 (each little-endian), then the bytes not yet folded into a block (0-63).
 */

const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** Largest SHA context the chip reads out or accepts: 4 + 32 + 63 bytes (cryptoauthlib SHA_CONTEXT_MAX_SIZE). */
export const SHA_CONTEXT_MAX = 99;

/** An incremental SHA-256 whose state can be exported and restored. */
export class Sha256 {
  private readonly h = Uint32Array.from(IV);
  private readonly block = new Uint8Array(64);
  private pending = 0;
  private total = 0;
  private readonly w = new Uint32Array(64);

  /** Adds message bytes. */
  update(data: Uint8Array): this {
    for (let i = 0; i < data.length; ) {
      const n = Math.min(64 - this.pending, data.length - i);
      this.block.set(data.subarray(i, i + n), this.pending);
      this.pending += n;
      i += n;
      if (this.pending === 64) {
        this.compress(this.block);
        this.pending = 0;
      }
    }
    this.total += data.length;
    return this;
  }

  /** The digest of everything added so far (the context is spent afterwards). */
  digest(): Uint8Array {
    const bits = this.total * 8;
    const padLen = (this.pending < 56 ? 56 : 120) - this.pending;
    const pad = new Uint8Array(padLen + 8);
    pad[0] = 0x80;
    // Message length in bits, big-endian 64-bit (the high word matters only past 512 MiB).
    const view = new DataView(pad.buffer);
    view.setUint32(padLen, Math.floor(bits / 2 ** 32));
    view.setUint32(padLen + 4, bits >>> 0);
    this.update(pad);
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) ov.setUint32(i * 4, this.h[i]!);
    return out;
  }

  /** The context as the chip's SHA Read Context (mode 0x06) returns it. */
  context(): Uint8Array {
    const out = new Uint8Array(36 + this.pending);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.total >>> 0, true);
    for (let i = 0; i < 8; i++) v.setUint32(4 + i * 4, this.h[i]!, true);
    out.set(this.block.subarray(0, this.pending), 36);
    return out;
  }

  /** A hash restored from a context (SHA Write Context, mode 0x07); undefined when its length disagrees with its count. */
  static fromContext(ctx: Uint8Array): Sha256 | undefined {
    if (ctx.length < 36 || ctx.length > SHA_CONTEXT_MAX) return undefined;
    const v = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
    const total = v.getUint32(0, true);
    if (36 + (total % 64) !== ctx.length) return undefined;
    const s = new Sha256();
    for (let i = 0; i < 8; i++) s.h[i] = v.getUint32(4 + i * 4, true);
    s.block.set(ctx.subarray(36));
    s.pending = ctx.length - 36;
    s.total = total;
    return s;
  }

  private compress(b: Uint8Array): void {
    const w = this.w;
    for (let i = 0; i < 16; i++) w[i] = (b[i * 4]! << 24) | (b[i * 4 + 1]! << 16) | (b[i * 4 + 2]! << 8) | b[i * 4 + 3]!;
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let [a, bb, c, d, e, f, g, h] = this.h as unknown as number[];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e! >>> 6) | (e! << 26)) ^ ((e! >>> 11) | (e! << 21)) ^ ((e! >>> 25) | (e! << 7));
      const ch = (e! & f!) ^ (~e! & g!);
      const t1 = (h! + S1 + ch + K[i]! + w[i]!) | 0;
      const S0 = ((a! >>> 2) | (a! << 30)) ^ ((a! >>> 13) | (a! << 19)) ^ ((a! >>> 22) | (a! << 10));
      const maj = (a! & bb!) ^ (a! & c!) ^ (bb! & c!);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d! + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    const hs = this.h;
    hs[0] = hs[0]! + a!;
    hs[1] = hs[1]! + bb!;
    hs[2] = hs[2]! + c!;
    hs[3] = hs[3]! + d!;
    hs[4] = hs[4]! + e!;
    hs[5] = hs[5]! + f!;
    hs[6] = hs[6]! + g!;
    hs[7] = hs[7]! + h!;
  }
}
