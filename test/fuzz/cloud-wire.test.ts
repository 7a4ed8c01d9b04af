import t from 'tap';
import { cloudWireTarget } from '../../fuzz/targets/cloud-wire.js';
import { seededPass } from './seeded-pass.js';

t.test('cloud-wire: seeded fuzz pass (CBOR, Fleet Provisioning and DPS parsers)', (t) => seededPass(t, cloudWireTarget, 3000, 0xc10d));
