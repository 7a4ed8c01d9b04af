import t from 'tap';
import { enrollResponse } from '../../common/protocol/enrollment.js';
import { responseIfWellFormed } from '../../firmware-sim/response-shape.js';

const SERIAL = '0123A1B2C3D4E5F6EE';
const valid: Record<string, Record<string, unknown>> = {
  challenge: { type: 'challenge', serial: SERIAL, nonce: 'ab'.repeat(32), expiresAt: '2026-12-03T12:00:00.000Z', correlationId: 'c1' },
  enrolled: {
    type: 'enrolled', serial: SERIAL, group: 'sensors', config: { interval: 60, nested: { a: [1, 'x'] }, '10': 'ten' },
    configSignature: 'MEUCIQ' + 'A'.repeat(80) + '==', configSignerCertificate: 'MIIB' + 'A'.repeat(600), reenrolled: false, correlationId: 'c2',
  },
  error: { type: 'error', code: 'RATE_LIMITED', message: 'device: too many requests', retryAfterSeconds: 3 },
};

/** Odd values for any field: other types, edges of every length and range, characters outside each alphabet. */
const oddValues: unknown[] = [
  undefined, null, true, false, 0, -1, 1, 1.5, 2 ** 53, 1e300, 'x', '', 'A'.repeat(65), 'a'.repeat(64), 'A'.repeat(64),
  SERIAL.toLowerCase(), SERIAL + '0', 'ab'.repeat(32).toUpperCase(), 'ab'.repeat(31), 'AAA', 'AAAA', 'AA=A', 'A'.repeat(8192), 'A'.repeat(8193),
  'AAAA===', 'AA-_', [], {}, { '': 1 }, ['x'], 'challenge', 'enrolled', 'error', 'INTERNAL', 'NOPE', 'constructor', '__proto__', 'toString',
];

/** Every variant: each field replaced by each odd value, removed, and a foreign key added; plus non-objects and prototype keys. */
function* variants(): Generator<unknown> {
  for (const base of Object.values(valid)) {
    yield base;
    for (const k of [...Object.keys(base), 'correlationId', 'retryAfterSeconds', 'extra', 'config', 'nonce']) {
      for (const v of oddValues) yield { ...base, [k]: v };
      const { [k]: _, ...without } = base;
      yield without;
    }
    yield JSON.parse(JSON.stringify(base).replace('{', '{"__proto__":1,'));
  }
  yield JSON.parse(JSON.stringify(valid.enrolled).replace('"config":{', '"config":{"__proto__":{"x":1},'));
  yield* [null, 0, 'challenge', [], [valid.challenge], true];
}

/** A config with an own `__proto__` key: zod copies it onto a new object (a prototype change), so the fast path leaves it to zod. */
const leftToZodOnPurpose = (body: unknown) => Object.hasOwn((body as { config?: object }).config ?? {}, '__proto__');

t.test('issue 13: the device fast shape check accepts exactly what enrollResponse accepts, with the same output', async (t) => {
  let accepted = 0;
  let checked = 0;
  for (const v of variants()) {
    // The device reads JSON.parse output: round-trip the variant as the server would send it.
    const text = JSON.stringify(v);
    if (text === undefined) continue;
    const body: unknown = JSON.parse(text);
    const fast = responseIfWellFormed(body);
    const zod = enrollResponse.safeParse(body);
    checked++;
    if (fast) {
      accepted++;
      if (!zod.success) t.fail(`fast accepted what zod refuses: ${text.slice(0, 200)}`);
      else if (JSON.stringify(fast) !== JSON.stringify(zod.data)) t.fail(`different output: ${text.slice(0, 200)}`);
    } else if (zod.success && !leftToZodOnPurpose(body)) {
      t.fail(`fast left to zod an answer zod accepts: ${text.slice(0, 200)}`);
    }
  }
  t.ok(accepted >= 3, `${accepted} of ${checked} variants accepted by both`);
});
