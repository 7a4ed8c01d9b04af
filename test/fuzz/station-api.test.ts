import t from 'tap';
import { stationApiTarget } from '../../fuzz/targets/station-api.js';
import { seededPass } from './seeded-pass.js';

t.test('station-api: seeded fuzz pass (strict JSON → schema → provisioning over SQLite, store invariants after)', (t) => seededPass(t, stationApiTarget, 800, 0x11c5));
