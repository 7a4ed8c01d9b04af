import t from 'tap';
import { estTarget } from '../../fuzz/targets/est.js';
import { seededPass } from './seeded-pass.js';

t.test('est: seeded fuzz pass (base64 bodies, PKCS#10, subject serial, certs-only answers)', (t) => seededPass(t, estTarget, 600, 0x1717));
