import t from 'tap';
import { ocspHttpTarget } from '../../fuzz/targets/ocsp-http.js';
import { seededPass } from './seeded-pass.js';

t.test('ocsp-http: seeded fuzz pass (GET encodings, POST bodies, other paths into publicPkiHandler over loopback)', (t) => seededPass(t, ocspHttpTarget, 800, 0x11c8));
