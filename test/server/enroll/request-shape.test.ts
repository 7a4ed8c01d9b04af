import t from 'tap';
import { enrollMessage, enrollRequest, type RequestChannel } from '../../../common/protocol/enrollment.js';
import { requestIfWellFormed } from '../../../server/enroll/request-shape.js';

const SERIAL = '0123A1B2C3D4E5F6EE';
const valid: Record<string, Record<string, unknown>> = {
  hello: { type: 'hello', serial: SERIAL, deviceCertificate: 'MIIB' + 'A'.repeat(600) + '==', correlationId: 'c1' },
  proof: { type: 'proof', serial: SERIAL, nonce: 'ab'.repeat(32), counter: 17, signature: 'cd'.repeat(64), correlationId: 'c2' },
  enroll: { type: 'enroll', serial: SERIAL },
};

/** Odd values for any field: other types, edges of every length and range, characters outside each alphabet. */
const oddValues: unknown[] = [
  undefined, null, true, 0, -1, 1.5, 0xffffffff, 0x100000000, Infinity, 'x', '', 'A'.repeat(65), 'a'.repeat(64), 'A'.repeat(64),
  SERIAL.toLowerCase(), SERIAL + '0', 'ab'.repeat(32).toUpperCase(), 'ab'.repeat(31), 'cd'.repeat(64) + 'c', 'AAA', 'AAAA', 'AA=A', 'A'.repeat(8192), 'A'.repeat(8193),
  'AAAA===', 'AA-_', [], {}, ['hello'], 'hello', 'proof', 'enroll', 'constructor', '__proto__', 'toString',
];

/** Every variant: each field replaced by each odd value, removed, and a foreign key added; plus non-objects. */
function* variants(): Generator<unknown> {
  for (const base of Object.values(valid)) {
    yield base;
    for (const k of [...Object.keys(base), 'correlationId', 'extra', 'counter', 'nonce', 'deviceCertificate', 'signature']) {
      for (const v of oddValues) yield { ...base, [k]: v };
      const { [k]: _, ...without } = base;
      yield without;
    }
    yield JSON.parse(JSON.stringify(base).replace('{', '{"__proto__":1,'));
  }
  yield* [null, 0, 'hello', [], [valid.hello], true];
}

t.test('issue 13: the fast shape check accepts exactly what the schemas accept, and nothing zod would refuse', async (t) => {
  let accepted = 0;
  let checked = 0;
  for (const channel of ['req', 'mtls'] as RequestChannel[]) {
    const schema = channel === 'mtls' ? enrollMessage : enrollRequest;
    for (const v of variants()) {
      // The handler sees JSON.parse output: round-trip the variant as a device would send it.
      const text = JSON.stringify(v);
      if (text === undefined) continue;
      const body: unknown = JSON.parse(text);
      const fast = requestIfWellFormed(body, channel);
      const zod = schema.safeParse(body);
      checked++;
      if (fast) {
        accepted++;
        if (!zod.success) t.fail(`fast accepted what zod refuses on ${channel}: ${text.slice(0, 200)}`);
        else if (JSON.stringify(fast) !== JSON.stringify(zod.data)) t.fail(`different output on ${channel}: ${text.slice(0, 200)}`);
      } else if (zod.success) {
        t.fail(`fast left to zod a body zod accepts on ${channel}: ${text.slice(0, 200)}`);
      }
    }
  }
  t.ok(accepted >= 6, `${accepted} of ${checked} variants accepted by both`);
});
