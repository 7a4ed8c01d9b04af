/**
 * The OCSP request parser's strictness (issue 11): every form outside the profile throws
 * MALFORMED_DER (answered as malformedRequest), so what becomes a cache key or is echoed has
 * exactly one accepted encoding. Well-formed requests are checked against an independent parser.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPRequest } from '@peculiar/asn1-ocsp';
import { NULL, integerFromHex, octetString, oid, seq, tlv } from '../../../common/der/writer.js';
import { OID_OCSP_NONCE, parseOcspRequest } from '../../../server/ca/ocsp-request.js';

const SHA1 = '1.3.14.3.2.26';
const SHA256 = '2.16.840.1.101.3.4.2.1';
const h20 = createHash('sha1').update('name').digest();
const k20 = createHash('sha1').update('key').digest();

/** A CertID from parts, each replaceable by raw DER. */
function certId(o: { alg?: Buffer; name?: Buffer; key?: Buffer; serial?: Buffer; extra?: Buffer[] } = {}): Buffer {
  return seq(o.alg ?? seq(oid(SHA1), NULL), o.name ?? octetString(h20), o.key ?? octetString(k20), o.serial ?? integerFromHex('4a01'), ...(o.extra ?? []));
}
/** An OCSPRequest around requests (each a Request SEQUENCE's contents). */
function request(ids: Buffer[], o: { before?: Buffer[]; after?: Buffer[]; outer?: Buffer[] } = {}): Buffer {
  return seq(seq(...(o.before ?? []), seq(...ids.map((id) => seq(id))), ...(o.after ?? [])), ...(o.outer ?? []));
}
const nonceExt = (n: Buffer) => tlv(0xa2, seq(seq(oid(OID_OCSP_NONCE), octetString(octetString(n)))));

t.test('a well-formed request: values, the CertID echoed as received, nonce noted', async (t) => {
  const id = certId();
  const r = parseOcspRequest(request([id]));
  t.equal(r.certId.hash, 'sha1');
  t.equal(r.certId.params, 'null');
  t.equal(r.certId.serialHex, '4a01');
  t.same(r.certId.der, id);
  t.same(r.certId.issuerNameHash, h20);
  t.equal(r.hasNonce, false);
  const absent = parseOcspRequest(request([certId({ alg: seq(oid(SHA1)) })]));
  t.equal(absent.certId.params, 'absent');
  t.same(absent.certId.der, certId({ alg: seq(oid(SHA1)) }));
  t.equal(parseOcspRequest(request([id], { after: [nonceExt(Buffer.alloc(16, 7))] })).hasNonce, true);
  t.equal(parseOcspRequest(request([certId({ serial: integerFromHex('ff01') })])).certId.serialHex, 'ff01', 'a 00 pad before a high bit is minimal');
  // Also accepted: explicit v1, requestorName, single extensions, an (ignored) requester signature.
  const full = seq(seq(tlv(0xa0, Buffer.from('020100', 'hex')), tlv(0xa1, Buffer.from('a400', 'hex')), seq(seq(id, tlv(0xa0, seq()))), nonceExt(Buffer.alloc(8))), tlv(0xa0, seq()));
  t.equal(parseOcspRequest(full).certId.serialHex, '4a01');
  t.equal(AsnConvert.parse(request([id]), OCSPRequest).tbsRequest.requestList.length, 1, 'an independent parser agrees');
  const sha256 = certId({ alg: seq(oid(SHA256), NULL), name: octetString(Buffer.alloc(32, 1)), key: octetString(Buffer.alloc(32, 2)) });
  t.equal(parseOcspRequest(request([sha256])).certId.hash, 'sha256');
});

t.test('every malformed form throws MALFORMED_DER', async (t) => {
  const big = Buffer.alloc(7 * 1024, 0x41);
  const cases: Record<string, Buffer> = {
    // issue 11: the hash AlgorithmIdentifier's parameters
    'parameters: a 7 KB OCTET STRING': request([certId({ alg: seq(oid(SHA1), octetString(big)) })]),
    'parameters: NULL with content': request([certId({ alg: seq(oid(SHA1), Buffer.from('050100', 'hex')) })]),
    'parameters: an empty SEQUENCE': request([certId({ alg: seq(oid(SHA1), seq()) })]),
    'parameters: NULL twice': request([certId({ alg: seq(oid(SHA1), NULL, NULL) })]),
    'parameters: NULL then 7 KB': request([certId({ alg: seq(oid(SHA1), NULL, octetString(big)) })]),
    'hash: MD5': request([certId({ alg: seq(oid('1.2.840.113549.2.5'), NULL), name: octetString(Buffer.alloc(16)), key: octetString(Buffer.alloc(16)) })]),
    'hash: SHA-1 OID with a padded arc': request([certId({ alg: seq(Buffer.from('06062b800e03021a', 'hex'), NULL) })]),
    'hash: not an OID': request([certId({ alg: seq(octetString(Buffer.from('2b0e03021a', 'hex')), NULL) })]),
    'hash: missing': request([certId({ alg: seq() })]),
    'issuerNameHash: 19 octets for SHA-1': request([certId({ name: octetString(h20.subarray(1)) })]),
    'issuerKeyHash: 32 octets for SHA-1': request([certId({ key: octetString(Buffer.alloc(32)) })]),
    'issuerKeyHash: 20 octets for SHA-256': request([certId({ alg: seq(oid(SHA256), NULL), name: octetString(Buffer.alloc(32)) })]),
    'serial: redundant leading 00': request([certId({ serial: Buffer.from('0203004a01', 'hex') })]),
    'serial: redundant leading FF': request([certId({ serial: Buffer.from('0203ff8a01', 'hex') })]),
    'serial: negative': request([certId({ serial: Buffer.from('020180', 'hex') })]),
    'serial: empty INTEGER': request([certId({ serial: Buffer.from('0200', 'hex') })]),
    'serial: 21 octets': request([certId({ serial: tlv(0x02, Buffer.alloc(21, 0x41)) })]),
    'serial: an OCTET STRING': request([certId({ serial: octetString(Buffer.from('4a01', 'hex')) })]),
    'CertID: a fifth field': request([certId({ extra: [NULL] })]),
    'length: long form for a short value': Buffer.concat([Buffer.from('3081', 'hex'), Buffer.of(request([certId()]).length - 2), request([certId()]).subarray(2)]),
    'length: leading zero octet': (() => {
      const inner = request([certId({ alg: seq(oid(SHA1), octetString(Buffer.alloc(200))) })]);
      return Buffer.concat([Buffer.from('308200', 'hex'), inner.subarray(2)]);
    })(),
    'length: indefinite': Buffer.from('3080', 'hex'),
    'length: past the end': Buffer.from('300a3000', 'hex'),
    'trailing bytes after the request': Buffer.concat([request([certId()]), Buffer.of(0)]),
    'requestList: empty': request([]),
    'requestList: two CertIDs': request([certId(), certId({ serial: integerFromHex('4a02') })]),
    'Request: a second field that is not [0]': seq(seq(seq(seq(certId(), NULL)))),
    'version: v2': request([certId()], { before: [tlv(0xa0, Buffer.from('020101', 'hex'))] }),
    'TBSRequest: extensions before the list': seq(seq(nonceExt(Buffer.alloc(8)), seq(seq(certId())))),
    'TBSRequest: unknown field [3]': request([certId()], { after: [tlv(0xa3, NULL)] }),
    'TBSRequest: two request lists': request([certId()], { after: [seq(seq(certId()))] }),
    'OCSPRequest: a field after the signature': request([certId()], { outer: [tlv(0xa0, seq()), NULL] }),
    'OCSPRequest: not [0] after tbsRequest': request([certId()], { outer: [NULL] }),
    'requestExtensions: an extension without an OID': request([certId()], { after: [tlv(0xa2, seq(seq(NULL)))] }),
    empty: Buffer.alloc(0),
  };
  for (const [name, der] of Object.entries(cases)) t.throws(() => parseOcspRequest(der), { code: 'MALFORMED_DER' }, name);
});
