import t from 'tap';
import { jsonStrictTarget } from '../../fuzz/targets/json-strict.js';
import { seededPass } from './seeded-pass.js';

t.test('json-strict: seeded fuzz pass (parseJsonStrict against JSON.parse, repeated names in every spelling)', (t) => seededPass(t, jsonStrictTarget, 3000, 0x11c9));
