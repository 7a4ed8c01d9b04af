/**
 * Strict decoding of the OCSP GET form (issue 11): RFC 6960 Appendix A.1 / RFC 5019 §5 spellings
 * accepted (%-escapes, raw '/', '+', '='), everything Node's lenient base64 decoder would let
 * through refused.
 */
import t from 'tap';
import { MAX_OCSP_GET_SEGMENT, decodeOcspGetSegment } from '../../../server/api/ocsp-get-path.js';

// Bytes chosen so the base64 holds '+', '/' and padding: fb ff bf -> "+/+/", fe -> "/g==".
const der = Buffer.from('3003fbffbffe', 'hex');
const b64 = der.toString('base64');

t.test('accepted spellings', async (t) => {
  t.equal(b64, 'MAP7/7/+');
  t.same(decodeOcspGetSegment(b64), der, 'raw + and /');
  t.same(decodeOcspGetSegment(encodeURIComponent(b64)), der, '%-encoded');
  t.same(decodeOcspGetSegment('MAP7%2f7%2F%2b'), der, 'mixed, either hex case');
  const padded = Buffer.from('300300fe', 'hex');
  t.same(decodeOcspGetSegment(padded.toString('base64')), padded);
  t.same(decodeOcspGetSegment(encodeURIComponent(padded.toString('base64'))), padded, '%3D padding');
});

t.test('refused spellings', async (t) => {
  const cases: Record<string, string> = {
    empty: '',
    'junk inside (Node would skip it)': 'MAP7!/7/+',
    'space': 'MAP7 /7/+',
    'a %-escape of a non-alphabet character': 'MAP7%20/7/+',
    'a broken %-escape': 'MAP7%2/7/+',
    'a %-escape of %': 'MAP7%25/7/+',
    'base64url alphabet': 'MAP7_7_-',
    'missing padding': 'MAP7/7/+MA',
    'padding inside': 'MA==MAP7',
    'three padding characters': 'MA===',
    'non-zero pad bits': 'MAN=',
    'UTF-8 escape': 'MAP7%C3%A9/7/+',
    oversized: 'A'.repeat(MAX_OCSP_GET_SEGMENT + 4),
  };
  for (const [name, s] of Object.entries(cases)) t.equal(decodeOcspGetSegment(s), null, name);
  t.ok(Buffer.from('MAP7!/7/+', 'base64').length > 0, 'Node itself decodes junk silently');
});
