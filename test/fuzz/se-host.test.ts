import t from 'tap';
import { seHostTarget } from '../../fuzz/targets/se-host.js';
import { seededPass } from './seeded-pass.js';

t.test('se-host: seeded fuzz pass (device driver over a spoiling transport, kit/HID parsers, atcacert)', (t) => seededPass(t, seHostTarget, 1500, 0x11c3));
