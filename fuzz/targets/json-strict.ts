/**
 * Target `json-strict`: common/json-strict.ts `parseJsonStrict`, the first step of every station
 * API body, against JSON.parse as the oracle. Any text: MALFORMED_JSON exactly when JSON.parse
 * refuses it, otherwise JSON.parse's value or DUPLICATE_JSON_KEY; a document without repeated
 * names parses to the same value; a document given a repeated member name at any depth, plainly
 * or with escapes (`\u0071uota`, `\/`), is always refused.
 */
import fc from 'fast-check';
import { parseJsonStrict } from '../../common/json-strict.js';
import { ensure, expectTypedError, type FuzzTarget } from '../harness.js';
import { hostileJsonText } from '../json-text.js';

type Input = { kind: 'any'; text: string } | { kind: 'unique'; value: unknown; space: number } | { kind: 'duplicate'; value: Record<string, unknown>; pick: number; spelling: number };

/** Other spellings of a member name that JSON reads as the same string. */
const SPELLINGS: Array<(name: string) => string> = [
  (n) => JSON.stringify(n),
  (n) => (n ? `"\\u${n.charCodeAt(0).toString(16).padStart(4, '0')}${JSON.stringify(n.slice(1)).slice(1)}` : '""'),
  (n) => JSON.stringify(n).replace(/\//g, '\\/'),
  (n) => `"${n.split('').map((c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`).join('')}"`,
];

/** Text of `value` with the object at pre-order index `pick` given one of its names again (or a new one twice). */
function withDuplicate(value: Record<string, unknown>, pick: number, spelling: number): string {
  let index = 0;
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
    if (typeof v !== 'object' || v === null) return JSON.stringify(v);
    const entries = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`);
    if (index++ === pick) {
      const name = Object.keys(v)[0] ?? 'dup';
      const again = `${SPELLINGS[spelling % SPELLINGS.length]!(name)}:0`;
      if (!Object.keys(v).length) entries.push(`${JSON.stringify(name)}:1`);
      entries.splice(pick % (entries.length + 1), 0, again);
    }
    return `{${entries.join(',')}}`;
  };
  const text = write(value);
  // `pick` past the last object: repeat at the root instead.
  return index > pick ? text : withDuplicate(value, 0, spelling);
}

const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('quota', '__proto__', 'a/b', 'é', '\u2028', ''));
const doc = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 0 }), tie('object'), fc.array(tie('value'), { maxLength: 3 })),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).object as fc.Arbitrary<Record<string, unknown>>;

/** The target. */
export const jsonStrictTarget: FuzzTarget<Input> = {
  name: 'json-strict',
  summary: 'parseJsonStrict against JSON.parse: same verdict and value on any text, every repeated member name refused (escaped spellings too)',
  heapBoundBytes: 16 * 1024 * 1024,
  async setup() {
    return {
      sync: true,
      arbitrary: fc.oneof(
        { weight: 2, arbitrary: fc.oneof(hostileJsonText([{ quota: 1, stations: ['a'], nested: { x: [1, { y: 2 }] } }]), fc.json(), fc.string({ maxLength: 40 })).map((text): Input => ({ kind: 'any', text })) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('unique' as const), value: fc.oneof(doc, fc.jsonValue()), space: fc.constantFrom(0, 2) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), value: doc, pick: fc.nat(8), spelling: fc.nat(SPELLINGS.length - 1) }) },
      ),
      check(input) {
        const text = input.kind === 'any' ? input.text : input.kind === 'unique' ? JSON.stringify(input.value, null, input.space) : withDuplicate(input.value, input.pick, input.spelling);
        let expected: unknown;
        let syntaxOk = true;
        try {
          expected = JSON.parse(text);
        } catch {
          syntaxOk = false;
        }
        let got: unknown;
        try {
          got = parseJsonStrict(text);
        } catch (err) {
          expectTypedError(err, 'parseJsonStrict', ['MALFORMED_JSON', 'DUPLICATE_JSON_KEY']);
          ensure(syntaxOk === (err.code === 'DUPLICATE_JSON_KEY'), () => `${err.code} for text JSON.parse ${syntaxOk ? 'accepts' : 'refuses'}: ${text.slice(0, 200)}`);
          ensure(input.kind !== 'unique', () => `a document without repeated names refused (${err.code}): ${text.slice(0, 200)}`);
          return err.code;
        }
        ensure(syntaxOk, () => `accepted text JSON.parse refuses: ${text.slice(0, 200)}`);
        ensure(input.kind !== 'duplicate', () => `a repeated member name was accepted: ${text.slice(0, 300)}`);
        // Compared as text; JSON.stringify (like any deep-equality walk) overflows the stack on
        // 10,000-deep arrays, which both parsers take: those are compared by their verdict only.
        let same: boolean | null = null;
        try {
          same = JSON.stringify(got) === JSON.stringify(expected);
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
        }
        ensure(same !== false, () => `value differs from JSON.parse for ${text.slice(0, 200)}`);
        return 'accepted';
      },
      close() {},
    };
  },
};
