/**
 * The template builder: marks follow their bytes through nesting, lengths and OIDs are the one
 * DER writer's, and a template past atcacert's 16-bit sizes is refused.
 */
import t from 'tap';
import { readTlv } from '../../../common/der/reader.js';
import { marked, oid, raw, tlv } from '../../../secure-element/atcacert/template-der.js';

t.test('marks are shifted by every enclosing header', async (t) => {
  const inner = tlv(0x04, marked('key', new Uint8Array(200).fill(7)));
  const outer = tlv(0x30, oid('1.2.840.10045.4.3.2'), inner);
  const m = outer.marks.find((x) => x.name === 'key')!;
  // 30 81 d5 | 06 08 … (10 bytes) | 04 81 c8 | 200 bytes
  t.same(m, { name: 'key', offset: 3 + 10 + 3, count: 200 });
  t.equal(readTlv(outer.bytes, 0).end, outer.bytes.length, 'minimal two-octet length the reader accepts');
  t.equal(Buffer.from(oid('1.2.840.10045.4.3.2').bytes).toString('hex'), '06082a8648ce3d040302');
});

t.test('templates stay within atcacert_def_t 16-bit sizes', async (t) => {
  t.doesNotThrow(() => tlv(0x04, raw(new Uint8Array(0xffff))));
  t.throws(() => tlv(0x04, raw(new Uint8Array(0x10000))), { code: 'ATCACERT_INVALID' });
});
