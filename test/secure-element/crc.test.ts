import t from 'tap';
import { crc16, crcBytes, checkCrc } from '../../secure-element/crc.js';

t.test('wake response vector 04 11 -> 33 43', async (t) => {
  t.same(crcBytes(Uint8Array.of(0x04, 0x11)), [0x33, 0x43]);
  t.ok(checkCrc(Uint8Array.of(0x04, 0x11, 0x33, 0x43)));
  t.notOk(checkCrc(Uint8Array.of(0x04, 0x11, 0x33, 0x44)));
});

t.test('command vectors seen on the kit wire', async (t) => {
  // E:t(070280000009AD): Read config block 0, 32 bytes; E:t(0730000000035D): Info
  t.same(crcBytes(Uint8Array.of(0x07, 0x02, 0x80, 0x00, 0x00)), [0x09, 0xad]);
  t.same(crcBytes(Uint8Array.of(0x07, 0x30, 0x00, 0x00, 0x00)), [0x03, 0x5d]);
});

t.test('empty input is zero', async (t) => {
  t.equal(crc16(new Uint8Array()), 0);
});
