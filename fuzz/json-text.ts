/**
 * Hostile JSON text for the JSON entry points (station API bodies, keyline.json, enrollment
 * payloads): a valid document with one member replaced by a hostile value, removed, added or
 * named twice (also in an escaped spelling), then sometimes a text-level edit (truncation,
 * trailing bytes, a BOM, deep nesting); plus any JSON value and any text.
 */
import fc from 'fast-check';

/** Values that break careless code: edges of numbers and strings, wrong types, prototype names. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(
      0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 100_000_000, 100_000_001, 65535, 65536, '', ' ', '\u0000', '\u202e', '\ud800',
      'a'.repeat(65), 'a'.repeat(5000), '__proto__', 'constructor', 'toString', '0'.repeat(18), 'G'.repeat(18), 'pkcs11:', 'http://', 'mqtt://x',
      null, true, [], {}, [[[]]], { __proto__: null }, '1', '-1', 'NaN', 'embedded', 'self',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

type Doc = Record<string, unknown>;

/** One change to a document, at a path chosen among its members. */
type DocEdit =
  | { op: 'set'; pick: number; value: unknown }
  | { op: 'delete'; pick: number }
  | { op: 'add'; pick: number; key: string; value: unknown };

const docEdit: fc.Arbitrary<DocEdit> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const), pick: fc.nat(), key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'extra', ''), fc.string({ maxLength: 8 })), value: hostileValue }) },
);

/** Every object path of a document (the root included), to pick edit sites from. */
function objectPaths(doc: unknown, at: string[] = []): string[][] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return [];
  return [at, ...Object.entries(doc).flatMap(([k, v]) => objectPaths(v, [...at, k]))];
}

function applyDocEdit(doc: Doc, e: DocEdit): Doc {
  const copy = structuredClone(doc);
  const paths = objectPaths(copy);
  const path = paths[e.pick % paths.length]!;
  let obj = copy as Doc;
  for (const k of path) obj = obj[k] as Doc;
  const keys = Object.keys(obj);
  if (e.op === 'add') Object.defineProperty(obj, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
  else if (keys.length === 0) return copy;
  else if (e.op === 'delete') delete obj[keys[e.pick % keys.length]!];
  else obj[keys[Math.floor(e.pick / paths.length) % keys.length]!] = e.value;
  return copy;
}

/** One change to the text of a document. */
type TextEdit =
  | { op: 'duplicate'; pick: number; escaped: boolean; value: unknown }
  | { op: 'truncate'; at: number }
  | { op: 'trailing'; text: string }
  | { op: 'bom' }
  | { op: 'nest'; depth: number }
  | { op: 'char'; at: number; c: string };

const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('duplicate' as const), pick: fc.nat(), escaped: fc.boolean(), value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('trailing' as const), text: fc.constantFrom(' ', '\n', 'x', '{}', ',', '\u0000', '// c') }) },
  { weight: 1, arbitrary: fc.constant({ op: 'bom' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('nest' as const), depth: fc.constantFrom(2, 100, 10_000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('char' as const), at: fc.nat(), c: fc.constantFrom('"', '\\', '}', ']', ',', ':', '\u2028', '\ud800', '\u0000') }) },
);

/** `"name"` with one letter as a \u escape: the same member to JSON, another string to a naive scanner. */
function escapedName(name: string): string {
  if (!name) return '""';
  const c = name.charCodeAt(0).toString(16).padStart(4, '0');
  return `"\\u${c}${JSON.stringify(name.slice(1)).slice(1)}`;
}

function applyTextEdit(text: string, e: TextEdit): string {
  switch (e.op) {
    case 'duplicate': {
      // Repeat a member name inside the object that holds it: `{"quota":1,"quota":1e8}`.
      const names = [...text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)];
      if (!names.length) return text;
      const m = names[e.pick % names.length]!;
      const name = JSON.parse(`"${m[1]}"`) as string;
      const member = `${e.escaped ? escapedName(name) : JSON.stringify(name)}:${JSON.stringify(e.value) ?? 'null'},`;
      return text.slice(0, m.index) + member + text.slice(m.index);
    }
    case 'truncate': return text.slice(0, e.at % (text.length + 1));
    case 'trailing': return text + e.text;
    case 'bom': return `\ufeff${text}`;
    case 'nest': return '['.repeat(e.depth) + text + ']'.repeat(e.depth);
    case 'char': {
      const at = e.at % (text.length + 1);
      return text.slice(0, at) + e.c + text.slice(at);
    }
  }
}

/**
 * Text of hostile documents derived from `templates` (valid ones), mixed with any JSON value and
 * any text.
 */
export function hostileJsonText(templates: readonly Doc[]): fc.Arbitrary<string> {
  return hostileJsonFrom(fc.constantFrom(...templates));
}

/**
 * As hostileJsonText, from generated valid documents (fresh ids, keys, serials); `unchanged`
 * weighs valid documents sent as they are (against 12 for edited ones), to reach deep code.
 */
export function hostileJsonFrom(valid: fc.Arbitrary<Doc>, unchanged = 0): fc.Arbitrary<string> {
  const derived = fc.tuple(valid, fc.array(docEdit, { maxLength: 2 }), fc.array(textEdit, { maxLength: 1 }))
    .map(([template, docEdits, textEdits]) => {
      const doc = docEdits.reduce(applyDocEdit, template);
      return textEdits.reduce(applyTextEdit, JSON.stringify(doc));
    });
  return fc.oneof(
    { weight: 12, arbitrary: derived },
    ...(unchanged ? [{ weight: unchanged, arbitrary: valid.map((d) => JSON.stringify(d)) }] : []),
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  );
}

/** A document derived from a template by member edits only (for entry points that take parsed values). */
export function hostileDoc(templates: readonly Doc[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.nat(templates.length - 1), fc.array(docEdit, { maxLength: 2 })).map(([i, edits]) => edits.reduce(applyDocEdit, templates[i]!)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}
