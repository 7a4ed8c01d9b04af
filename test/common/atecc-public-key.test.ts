/**
 * The ATECC608 stored public-key format: the layout both the emulator and the host use, and the
 * pad check the host applies to a read-back (the emulator, like the chip, applies none).
 */
import t from 'tap';
import { padPublicKey, storedPublicKeyPadFault, unpadPublicKey } from '../../common/atecc-public-key.js';

const xy = Uint8Array.from({ length: 64 }, (_, i) => 0x80 + i);

t.test('layout: 4 zero bytes, X, 4 zero bytes, Y', async (t) => {
  const p = padPublicKey(xy);
  t.equal(p.length, 72);
  t.same([...p.subarray(0, 4), ...p.subarray(36, 40)], [0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(p[4], 0x80);
  t.equal(p[40], 0xa0);
  t.same([...unpadPublicKey(p)], [...xy]);
  t.throws(() => padPublicKey(new Uint8Array(65)), { code: 'ATCA_BAD_PARAM' });
  t.throws(() => unpadPublicKey(new Uint8Array(71)), { code: 'ATCA_BAD_PARAM' });
  t.throws(() => unpadPublicKey(new Uint8Array(73)), { code: 'ATCA_BAD_PARAM' }, 'slot 8 is passed as its first 72 bytes');
});

t.test('unpad ignores the pad, as the chip and calib_read_pubkey do', async (t) => {
  const p = padPublicKey(xy);
  p.fill(0xff, 0, 4);
  p.fill(0xee, 36, 40);
  t.same([...unpadPublicKey(p)], [...xy]);
});

t.test('pad fault: zero pads, or a validation state in the top nibble of byte 0', async (t) => {
  const p = padPublicKey(xy);
  t.equal(storedPublicKeyPadFault(p), undefined, 'as written');
  const with0 = (b0: number) => Uint8Array.of(b0, ...p.subarray(1));
  t.equal(storedPublicKeyPadFault(with0(0x50)), undefined, 'validated (0x5)');
  t.equal(storedPublicKeyPadFault(with0(0xa0)), undefined, 'invalidated (0xA)');
  t.match(storedPublicKeyPadFault(with0(0x30)), /byte 0 is 0x30/);
  t.match(storedPublicKeyPadFault(with0(0x51)), /pad byte 0 is 0x51/);
  for (const i of [1, 2, 3, 36, 37, 38, 39]) {
    const q = p.slice();
    q[i] = 1;
    t.match(storedPublicKeyPadFault(q), new RegExp(`pad byte ${i} `), `pad byte ${i}`);
  }
  t.match(storedPublicKeyPadFault(p.subarray(0, 64)), /64 bytes/);
});
