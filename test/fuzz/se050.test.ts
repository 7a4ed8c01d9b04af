import t from 'tap';
import { se050Target } from '../../fuzz/targets/se050.js';
import { seededPass } from './seeded-pass.js';

t.test('se050: seeded fuzz pass (hostile APDUs into Se050Chip.transmit, JRCP byte streams)', (t) => seededPass(t, se050Target, 600, 0x5e050));
