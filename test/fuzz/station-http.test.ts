import t from 'tap';
import { stationHttpTarget } from '../../fuzz/targets/station-http.js';
import { seededPass } from './seeded-pass.js';

t.test('station-http: seeded fuzz pass (createApp over HTTPS: every route, hostile bodies, other spellings, a certificate per role and none)', (t) => seededPass(t, stationHttpTarget, 300, 0x11ca));
