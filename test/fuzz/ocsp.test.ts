import t from 'tap';
import { ocspTarget } from '../../fuzz/targets/ocsp.js';
import { seededPass } from './seeded-pass.js';

t.test('ocsp: seeded fuzz pass (hostile DER requests into parseOcspRequest and OcspResponder.respond)', (t) => seededPass(t, ocspTarget, 1000, 0x11c6));
