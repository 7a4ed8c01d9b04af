/**
 * JSON.parse that refuses a duplicate member name in any object. RFC 8259 §4 leaves duplicates'
 * meaning to the implementation and JSON.parse keeps the last one, so `"quota":1,"quota":1e8`
 * would pass a schema that saw only the second value while a log or a proxy saw the first.
 * A single pass over the text finds duplicates (names compared after unescaping); JSON.parse
 * then builds the value, so its syntax errors and number handling stay the standard ones.
 */
import { ValidationError } from './errors.js';

/** Parses `text` as JSON; MALFORMED_JSON on a syntax error, DUPLICATE_JSON_KEY on a repeated member name. */
export function parseJsonStrict(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('MALFORMED_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
  // Only objects can hold duplicates; valid JSON without '{' needs no second look.
  if (typeof value === 'object' && value !== null) assertNoDuplicateKeys(text);
  return value;
}

/**
 * Walks syntactically valid JSON (JSON.parse accepted it) and throws on the first object that
 * names a member twice. Each open object keeps the set of its names on a stack.
 */
function assertNoDuplicateKeys(text: string): void {
  // One entry per open container: a Set of names for an object, null for an array.
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const raw = text.slice(i, end + 1);
        // Escapes (\u0071uota) name the same member as their plain spelling.
        const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.has(name)) {
          throw new ValidationError('DUPLICATE_JSON_KEY', `request body: member '${name.slice(0, 64)}' appears twice in one object`, { detail: { key: name.slice(0, 64) } });
        }
        top.add(name);
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
}

/** Index of the closing quote of the string opening at `start` (the text is valid JSON). */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22) return i;
  }
  return text.length - 1;
}
