import t from 'tap';
import { chipTarget } from '../../fuzz/targets/chip.js';
import { seededPass } from './seeded-pass.js';

t.test('chip: seeded fuzz pass (frames into execute() in three lock states, damaged images)', (t) => seededPass(t, chipTarget, 2000, 0x11c0));
