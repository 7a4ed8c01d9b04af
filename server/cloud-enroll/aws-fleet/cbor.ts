/**
 * The CBOR (RFC 8949) that AWS Fleet Provisioning's `/cbor` topics carry: maps with text-string
 * keys holding text strings, integers and nested maps, as the embedded C SDK's demos encode them
 * with tinycbor. Decoding is strict and bounded (well-formed items only, RFC 8949 §5.3.1; no
 * tags; nesting and sizes limited; one item filling the buffer); encoding writes definite
 * lengths in their shortest form (§4.2.1).
 */

/** What decoding yields: JSON-like values (byte strings as Uint8Array, undefined for CBOR undefined). */
export type CborValue = null | undefined | boolean | number | string | Uint8Array | CborValue[] | { [key: string]: CborValue };

/** Why a buffer is not the CBOR this decoder accepts. */
export class CborError extends Error {
  override name = 'CborError';
}

const MAX_DEPTH = 16;
const MAX_ITEMS = 4096;

/** Decodes exactly one CBOR data item filling `bytes`. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const r = { pos: 0, items: 0 };
  const v = item(bytes, r, 0);
  if (r.pos !== bytes.length) throw new CborError(`${bytes.length - r.pos} bytes after the data item`);
  return v;
}

function need(b: Uint8Array, r: { pos: number }, n: number): void {
  if (r.pos + n > b.length) throw new CborError('truncated');
}

/** The argument of an initial byte (§3): the value, or -1 for indefinite length. */
function argument(b: Uint8Array, r: { pos: number }, info: number): number {
  if (info < 24) return info;
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : info === 31 ? 0 : -1;
  if (size < 0) throw new CborError(`reserved additional information ${info}`);
  if (size === 0) return -1;
  need(b, r, size);
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + b[r.pos + i]!;
  r.pos += size;
  if (!Number.isSafeInteger(v)) throw new CborError('integer beyond 2^53');
  return v;
}

function item(b: Uint8Array, r: { pos: number; items: number }, depth: number): CborValue {
  if (depth > MAX_DEPTH) throw new CborError(`nested deeper than ${MAX_DEPTH}`);
  if (++r.items > MAX_ITEMS) throw new CborError(`more than ${MAX_ITEMS} items`);
  need(b, r, 1);
  const ib = b[r.pos++]!;
  const major = ib >> 5;
  const info = ib & 0x1f;
  if (major === 7) return simple(b, r, info);
  const arg = argument(b, r, info);
  switch (major) {
    case 0: return arg === -1 ? bad('indefinite integer') : arg;
    case 1: return arg === -1 ? bad('indefinite integer') : -1 - arg;
    case 2:
    case 3: {
      const bytes = arg === -1 ? chunks(b, r, major) : take(b, r, arg);
      if (major === 2) return bytes;
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new CborError('text string is not UTF-8');
      }
    }
    case 4: {
      const out: CborValue[] = [];
      for (let i = 0; arg === -1 ? !isBreak(b, r) : i < arg; i++) out.push(item(b, r, depth + 1));
      return out;
    }
    case 5: {
      const out: { [key: string]: CborValue } = Object.create(null) as { [key: string]: CborValue };
      for (let i = 0; arg === -1 ? !isBreak(b, r) : i < arg; i++) {
        const k = item(b, r, depth + 1);
        if (typeof k !== 'string') throw new CborError('map key is not a text string');
        if (k in out) throw new CborError(`map key '${k}' twice`);
        out[k] = item(b, r, depth + 1);
      }
      return out;
    }
    default: throw new CborError('tags are not accepted');
  }
}

function bad(why: string): never {
  throw new CborError(why);
}

function take(b: Uint8Array, r: { pos: number }, n: number): Uint8Array {
  need(b, r, n);
  const out = b.subarray(r.pos, r.pos + n);
  r.pos += n;
  return out;
}

// An indefinite string: definite chunks of the same major type up to the break (§3.2.3).
function chunks(b: Uint8Array, r: { pos: number }, major: number): Uint8Array {
  const parts: Uint8Array[] = [];
  while (!isBreak(b, r)) {
    need(b, r, 1);
    const ib = b[r.pos++]!;
    if (ib >> 5 !== major) throw new CborError('indefinite string chunk of another type');
    const n = argument(b, r, ib & 0x1f);
    if (n === -1) throw new CborError('nested indefinite string');
    parts.push(take(b, r, n));
  }
  return Buffer.concat(parts);
}

function isBreak(b: Uint8Array, r: { pos: number }): boolean {
  need(b, r, 1);
  if (b[r.pos] !== 0xff) return false;
  r.pos++;
  return true;
}

function simple(b: Uint8Array, r: { pos: number }, info: number): CborValue {
  switch (info) {
    case 20: return false;
    case 21: return true;
    case 22: return null;
    case 23: return undefined;
    case 25: return half(take(b, r, 2));
    case 26: return Buffer.from(take(b, r, 4)).readFloatBE(0);
    case 27: return Buffer.from(take(b, r, 8)).readDoubleBE(0);
    default: throw new CborError(info === 31 ? 'break outside an indefinite item' : `simple value ${info}`);
  }
}

// IEEE 754 half precision (§D).
function half(h: Uint8Array): number {
  const v = (h[0]! << 8) | h[1]!;
  const exp = (v >> 10) & 0x1f;
  const mant = v & 0x3ff;
  const val = exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant ? NaN : Infinity) : (mant + 1024) * 2 ** (exp - 25);
  return v & 0x8000 ? -val : val;
}

/** Encodes maps, arrays, text strings, safe integers, booleans and null (what the replies hold). */
export function encodeCbor(v: CborValue): Buffer {
  const out: Buffer[] = [];
  write(v, out);
  return Buffer.concat(out);
}

function head(major: number, n: number, out: Buffer[]): void {
  if (n < 24) out.push(Buffer.from([(major << 5) | n]));
  else if (n < 0x100) out.push(Buffer.from([(major << 5) | 24, n]));
  else if (n < 0x10000) out.push(Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]));
  else if (n < 0x1_0000_0000) {
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    out.push(b);
  } else {
    const b = Buffer.alloc(9);
    b[0] = (major << 5) | 27;
    b.writeBigUInt64BE(BigInt(n), 1);
    out.push(b);
  }
}

function write(v: CborValue, out: Buffer[]): void {
  if (v === null) out.push(Buffer.from([0xf6]));
  else if (v === undefined) out.push(Buffer.from([0xf7]));
  else if (typeof v === 'boolean') out.push(Buffer.from([v ? 0xf5 : 0xf4]));
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`encodeCbor: ${v} is not a safe integer`);
    if (v >= 0) head(0, v, out);
    else head(1, -1 - v, out);
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    head(3, s.length, out);
    out.push(s);
  } else if (v instanceof Uint8Array) {
    head(2, v.length, out);
    out.push(Buffer.from(v));
  } else if (Array.isArray(v)) {
    head(4, v.length, out);
    for (const x of v) write(x, out);
  } else {
    const entries = Object.entries(v);
    head(5, entries.length, out);
    for (const [k, x] of entries) {
      write(k, out);
      write(x, out);
    }
  }
}
