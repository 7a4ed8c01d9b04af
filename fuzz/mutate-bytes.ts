/**
 * Byte-level and DER-aware mutation arbitraries. Pure random bytes stop at the first length check,
 * so most inputs start from a valid sample (an SPKI, a CSR, an OCSP request, a chip frame) and
 * change one thing: a field's value, a tag, a length (non-minimal, indefinite, 2^32), a node
 * dropped, repeated or nested a thousand deep; then, sometimes, a raw byte edit on top. Edits are
 * generated values, so fast-check shrinks a failing input towards the unmutated sample.
 */
import fc from 'fast-check';

/** A DER node: a primitive value or constructed children (X.690 §8.1.2.5 bit 6 of the tag). */
export interface DerNode {
  tag: number;
  value?: Uint8Array;
  children?: DerNode[];
}

/** Parses DER into a tree; throws on anything not well formed (used on trusted samples only). */
export function parseDerTree(buf: Uint8Array): DerNode {
  const walk = (at: number, limit: number): { node: DerNode; end: number } => {
    const tag = buf[at]!;
    let len = buf[at + 1]!;
    let v = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[v + i]!;
      v += n;
    }
    const end = v + len;
    if (end > limit || Number.isNaN(end)) throw new RangeError(`sample DER overruns at ${at}`);
    if (tag & 0x20) {
      const children: DerNode[] = [];
      for (let c = v; c < end; ) {
        const r = walk(c, end);
        children.push(r.node);
        c = r.end;
      }
      return { node: { tag, children }, end };
    }
    // A copy, not a view: structuredClone of a view would copy the whole sample per node.
    return { node: { tag, value: copyOf(buf.subarray(v, end)) }, end };
  };
  return walk(0, buf.length).node;
}

/** How one node's length is written: minimal, or a hostile form. */
export type LengthForm = 'minimal' | 'long-nonminimal' | 'indefinite' | 'huge' | 'nine-bytes' | 'off-by-plus' | 'off-by-minus';

function lengthBytes(len: number, form: LengthForm): number[] {
  const minimal = (n: number): number[] => {
    if (n < 0x80) return [n];
    const out: number[] = [];
    for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
    return [0x80 | out.length, ...out];
  };
  switch (form) {
    case 'minimal': return minimal(len);
    case 'long-nonminimal': return [0x84, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff];
    case 'indefinite': return [0x80];
    case 'huge': return [0x84, 0xff, 0xff, 0xff, 0xf0];
    case 'nine-bytes': return [0x89, 0, 0, 0, 0, 0, 0, 0, 0, len & 0xff];
    case 'off-by-plus': return minimal(len + 1);
    case 'off-by-minus': return minimal(Math.max(0, len - 1));
  }
}

/** Encodes a tree; `forms` overrides the length form of nodes by pre-order index. */
export function encodeDerTree(root: DerNode, forms: Map<number, LengthForm> = new Map()): Uint8Array {
  let index = 0;
  const enc = (n: DerNode): Buffer => {
    const form = forms.get(index++) ?? 'minimal';
    const body = n.children ? Buffer.concat(n.children.map(enc)) : Buffer.from(n.value ?? []);
    return Buffer.concat([Buffer.from([n.tag, ...lengthBytes(body.length, form)]), body]);
  };
  return new Uint8Array(enc(root));
}

function countNodes(n: DerNode): number {
  return 1 + (n.children ?? []).reduce((a, c) => a + countNodes(c), 0);
}

/** A copy of the tree with `fn` applied to the node at pre-order index `k` (its parent's list given). */
function editAt(root: DerNode, k: number, fn: (node: DerNode, siblings: DerNode[] | null, i: number) => void): DerNode {
  const copy = structuredClone(root);
  let index = 0;
  const walk = (n: DerNode, siblings: DerNode[] | null, i: number): boolean => {
    if (index++ === k) {
      fn(n, siblings, i);
      return true;
    }
    return (n.children ?? []).some((c, j) => walk(c, n.children!, j));
  };
  walk(copy, null, 0);
  return copy;
}

/** One structural edit of a DER tree. */
type TreeEdit =
  | { op: 'value'; at: number; bytes: Uint8Array }
  | { op: 'tag'; at: number; tag: number }
  | { op: 'drop'; at: number }
  | { op: 'repeat'; at: number; times: number }
  | { op: 'nest'; at: number; depth: number }
  | { op: 'integer'; at: number; bytes: Uint8Array }
  | { op: 'length'; at: number; form: LengthForm };

const interestingInteger = fc.constantFrom(
  Uint8Array.of(), Uint8Array.of(0), Uint8Array.of(0x80), Uint8Array.of(0, 0, 1), Uint8Array.of(0xff, 0xff),
  new Uint8Array(21).fill(0x7f), new Uint8Array(200).fill(1), Uint8Array.of(0x00, 0x80),
);

const treeEdit: fc.Arbitrary<TreeEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('value' as const), at: fc.nat(64), bytes: fc.uint8Array({ maxLength: 80 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tag' as const), at: fc.nat(64), tag: fc.oneof(fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0x30, 0x31, 0xa0, 0xa1, 0xa2, 0xa3, 0x1f, 0x3f), fc.nat(255)) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('drop' as const), at: fc.nat(64) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('repeat' as const), at: fc.nat(64), times: fc.oneof(fc.integer({ min: 2, max: 4 }), fc.constant(16)) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('nest' as const), at: fc.nat(64), depth: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(50)) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('integer' as const), at: fc.nat(64), bytes: interestingInteger }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('length' as const), at: fc.nat(64),
      form: fc.constantFrom<LengthForm>('long-nonminimal', 'indefinite', 'huge', 'nine-bytes', 'off-by-plus', 'off-by-minus'),
    }),
  },
);

function applyTreeEdits(root: DerNode, edits: TreeEdit[]): Uint8Array {
  let tree = root;
  const forms = new Map<number, LengthForm>();
  for (const e of edits) {
    const k = e.at % countNodes(tree);
    switch (e.op) {
      case 'value': tree = editAt(tree, k, (n) => { delete n.children; n.tag &= ~0x20; n.value = e.bytes; }); break;
      case 'tag': tree = editAt(tree, k, (n) => { n.tag = e.tag; if (!(e.tag & 0x20) && n.children) { n.value = encodeDerTree({ tag: 0x30, children: n.children }).subarray(2); delete n.children; } else if (e.tag & 0x20 && !n.children) { n.children = []; } }); break;
      case 'drop': tree = editAt(tree, k, (_n, sib, i) => { sib?.splice(i, 1); }); break;
      case 'repeat': tree = editAt(tree, k, (n, sib, i) => { sib?.splice(i, 0, ...Array.from({ length: e.times - 1 }, () => structuredClone(n))); }); break;
      case 'nest': tree = editAt(tree, k, (n) => { let inner: DerNode = { ...n }; for (let d = 0; d < e.depth; d++) inner = { tag: 0x30, children: [inner] }; Object.assign(n, inner); if (!inner.value) delete n.value; }); break;
      case 'integer': tree = editAt(tree, k, (n) => { delete n.children; n.tag = 0x02; n.value = e.bytes; }); break;
      case 'length': forms.set(k, e.form); break;
    }
  }
  return encodeDerTree(tree, forms);
}

/** One raw edit of a byte string; positions are taken modulo the length. */
type ByteEdit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'append'; bytes: Uint8Array };

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0x81, 0xff), fc.nat(255)) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
);

/** A plain Uint8Array copy: Buffer#slice returns a view, so edits on one would reach the sample. */
const copyOf = (b: Uint8Array): Uint8Array => new Uint8Array(b);

/** Applies raw edits in order (never to `input` itself). */
export function applyByteEdits(input: Uint8Array, edits: ByteEdit[]): Uint8Array {
  let b = copyOf(input);
  for (const e of edits) {
    const at = b.length ? (e.op === 'append' ? 0 : e.at % b.length) : 0;
    switch (e.op) {
      case 'flip': if (b.length) b[at]! ^= 1 << e.bit; break;
      case 'set': if (b.length) b[at] = e.byte; break;
      case 'truncate': b = b.slice(0, at); break;
      case 'insert': b = new Uint8Array(Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)])); break;
      case 'delete': b = new Uint8Array(Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)])); break;
      case 'append': b = new Uint8Array(Buffer.concat([b, e.bytes])); break;
    }
  }
  return b;
}

/** A sample with up to `max` raw byte edits. */
export function mutatedBytes(samples: readonly Uint8Array[], max = 3): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat(samples.length - 1), fc.array(byteEdit, { minLength: 1, maxLength: max }))
    .map(([i, edits]) => applyByteEdits(samples[i]!, edits));
}

/**
 * DER samples with structural edits (one field changed, lengths rewritten) and sometimes a raw
 * edit on top; the unmutated samples themselves come up too (they must be answered as valid).
 */
export function mutatedDer(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const trees = samples.map(parseDerTree);
  return fc.tuple(fc.nat(samples.length - 1), fc.array(treeEdit, { maxLength: 3 }), fc.array(byteEdit, { maxLength: 1 }))
    .map(([i, tree, raw]) => applyByteEdits(tree.length ? applyTreeEdits(trees[i]!, tree) : samples[i]!, raw));
}

/**
 * `depth` SEQUENCEs, each holding the next, around `inner` (long-form lengths, built outside-in
 * in one pass): recursion depth for parsers that descend per level.
 */
export function deeplyNested(depth: number, inner: Uint8Array): Uint8Array {
  const out = new Uint8Array(depth * 6 + inner.length);
  for (let i = 0; i < depth; i++) {
    const len = out.length - (i + 1) * 6;
    out.set([0x30, 0x84, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff], i * 6);
  }
  out.set(inner, depth * 6);
  return out;
}

/** The usual mix for a DER entry point: mostly structure-aware, some raw mutation, some noise. */
export function hostileDer(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: mutatedDer(samples) },
    { weight: 2, arbitrary: mutatedBytes(samples) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constantFrom(...samples) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(2, 64, 1000, 20_000), fc.constantFrom(...samples)).map(([d, s]) => deeplyNested(d, s)) },
  );
}
