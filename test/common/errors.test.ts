import t from 'tap';
import { ERROR_TABLE, KeylineError, type ErrorCode } from '../../common/errors.js';
import { ENROLL_ERROR_CODES } from '../../common/protocol/enrollment.js';
import { toWireError } from '../../server/enroll/handler.js';

const codes = Object.keys(ERROR_TABLE) as ErrorCode[];

t.test('the enrollment column holds wire codes only; hidden errors leave as INTERNAL', async (t) => {
  for (const code of codes) {
    const m = ERROR_TABLE[code];
    t.ok((ENROLL_ERROR_CODES as readonly string[]).includes(m.mqtt), `${code} → ${m.mqtt} is a wire code`);
    if (!m.expose) t.equal(m.mqtt, 'INTERNAL', `${code} is not exposed, so it is INTERNAL on the wire`);
    t.same(toWireError(new KeylineError(code, 'why')), m.expose ? { code: m.mqtt, message: 'why' } : { code: 'INTERNAL', message: 'internal error; retry later' }, code);
  }
  t.same(toWireError(new Error('boom')), { code: 'INTERNAL', message: 'internal error; retry later' }, 'a stray error says nothing');
});

t.test('every enrollment wire code is something some error becomes', async (t) => {
  const used = new Set(codes.map((c) => ERROR_TABLE[c].mqtt as string));
  for (const wire of ENROLL_ERROR_CODES) t.ok(used.has(wire), wire);
});

t.test('HTTP statuses are real statuses, and refusals (4xx) are exposed', async (t) => {
  for (const code of codes) {
    const { http, expose } = ERROR_TABLE[code];
    t.ok(http >= 400 && http <= 599, `${code}: ${http}`);
    if (http < 500) t.ok(expose, `${code}: a ${http} tells the caller why`);
  }
});
