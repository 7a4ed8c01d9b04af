/**
 * The CBOR of AWS Fleet Provisioning's `/cbor` topics (issue 16), against RFC 8949 Appendix A's
 * examples, and the strictness a decoder facing devices needs (RFC 8949 §5.3.1: well-formed only;
 * no tags, text keys once each, bounded depth, one item filling the payload).
 */
import t from 'tap';
import { CborError, decodeCbor, encodeCbor } from '../../../server/cloud-enroll/aws-fleet/cbor.js';

const hex = (h: string) => Buffer.from(h, 'hex');

t.test('RFC 8949 Appendix A examples decode', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['00', 0], ['17', 23], ['1818', 24], ['1903e8', 1000], ['1a000f4240', 1000000], ['20', -1], ['3903e7', -1000],
    ['f93c00', 1], ['f97bff', 65504], ['fa47c35000', 100000], ['fb3ff199999999999a', 1.1], ['f90001', 5.960464477539063e-8],
    ['f4', false], ['f5', true], ['f6', null], ['f7', undefined],
    ['60', ''], ['6161', 'a'], ['62c3bc', 'ü'], ['80', []], ['83010203', [1, 2, 3]], ['a0', {}],
    ['a26161016162820203', { a: 1, b: [2, 3] }], ['7f657374726561646d696e67ff', 'streaming'], ['9fff', []],
    ['bf6346756ef563416d7421ff', { Fun: true, Amt: -2 }],
  ];
  for (const [h, v] of cases) t.same(decodeCbor(hex(h)), v, h);
  t.same(Buffer.from(decodeCbor(hex('4401020304')) as Uint8Array), hex('01020304'), 'byte string');
});

t.test('what a device may not send is refused with CborError', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['c074323031332d30332d32315432303a30343a30305a', /tags/],
    ['a201020304', /map key is not a text string/],
    ['a2616101616102', /twice/],
    ['6261', /truncated/],
    ['0000', /after the data item/],
    ['ff', /break outside/],
    ['1c', /reserved/],
    ['61ff', /UTF-8/],
    ['5f41006100ff', /another type/],
    ['1b0020000000000000', /2\^53/],
    ['f0', /simple value/],
    ['', /truncated/],
    ['9b00000000ffffffff', /truncated/],
  ];
  for (const [h, why] of cases) t.throws(() => decodeCbor(hex(h)), why, h || '(empty)');
  t.throws(() => decodeCbor(hex('ff')), CborError, 'as a CborError');
  t.throws(() => decodeCbor(Buffer.concat([Buffer.alloc(17, 0x81), hex('00')])), /deeper than 16/, 'nesting is bounded');
  t.throws(() => decodeCbor(Buffer.concat([hex('9a00001001'), Buffer.alloc(4097, 0x00)])), /more than 4096 items/, 'item count is bounded');
});

t.test('replies encode in the shortest form and decode back', async (t) => {
  t.equal(encodeCbor({ a: 1, b: [2, 3] }).toString('hex'), 'a26161016162820203');
  t.equal(encodeCbor(1000000).toString('hex'), '1a000f4240');
  t.equal(encodeCbor(-1000).toString('hex'), '3903e7');
  t.equal(encodeCbor(null).toString('hex'), 'f6');
  const long = 'x'.repeat(300);
  t.equal(encodeCbor(long).subarray(0, 3).toString('hex'), '79012c', 'a 300-byte text string: two length bytes');
  const reply = { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken', errorMessage: 'Certificate ownership token cannot be empty.', nested: { k: 'v' } };
  t.same(decodeCbor(encodeCbor(reply)), reply);
  t.throws(() => encodeCbor(1.5), RangeError, 'only integers are written');
});
