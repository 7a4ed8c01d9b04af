/**
 * The OCSP responder's policy (RFC 6960): answers decoded with @peculiar/asn1-ocsp (an
 * independent parser), the cache (hits, refresh before expiry, invalidation), the nonce path,
 * and the error statuses. openssl checks the same responder end to end in
 * test/integration/revocation.test.ts.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse, OCSPRequest } from '@peculiar/asn1-ocsp';
import { integerFromHex, NULL, octetString, oid, seq, tlv } from '../../../server/ca/der-writer.js';
import { OcspResponder, spkiKeyBits } from '../../../server/ca/ocsp-responder.js';
import { responderIdentity, type CertStatus } from '../../../server/ca/ocsp-response.js';
import { OID_OCSP_NONCE, parseOcspRequest } from '../../../server/ca/ocsp-request.js';
import type { Signer } from '../../../server/hsm/key-store.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
let signs = 0;
const signer: Signer = {
  keyRef: 'test', curve: 'P-256', publicKeySpki: async () => spki,
  sign: async (m) => (signs++, new Uint8Array(sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' }))),
  signDigest: async () => { throw new Error('unused'); },
};
// A real certificate for the responder (any will do: the parser below needs a Certificate in `certs`).
const keyFile = join(t.testdir(), 'responder.key.pem');
writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
const responderCert = execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', '/CN=responder', '-days', '1', '-outform', 'DER']);
const nameDer = Buffer.from('3012311030' + '0e06035504030c0754657374204341', 'hex');
const statuses = new Map<string, CertStatus>([
  ['4a01', { status: 'good' }],
  ['4a02', { status: 'revoked', revokedAt: new Date('2026-11-25T08:00:00Z'), reason: 'keyCompromise' }],
]);
let clock = new Date('2026-11-25T10:00:00Z');
let lookups = 0;
const responder = new OcspResponder({
  identity: responderIdentity(signer, responderCert, spki),
  issuerNameDer: nameDer, issuerSpki: spki, validityMs: 3_600_000, now: () => clock,
  lookup: async (serial) => (lookups++, statuses.get(serial) ?? { status: 'unknown' }),
});

function certId(serialHex: string, alg: 'sha1' | 'sha256' = 'sha1', name: Uint8Array = nameDer): Buffer {
  const algOid = alg === 'sha1' ? '1.3.14.3.2.26' : '2.16.840.1.101.3.4.2.1';
  return seq(seq(oid(algOid), NULL), octetString(createHash(alg).update(name).digest()), octetString(createHash(alg).update(spkiKeyBits(spki)).digest()), integerFromHex(serialHex));
}
function request(ids: Buffer[], nonce?: Buffer): Buffer {
  const ext = nonce ? [tlv(0xa2, seq(seq(oid(OID_OCSP_NONCE), octetString(octetString(nonce)))))] : [];
  return seq(seq(seq(...ids.map((id) => seq(id))), ...ext));
}
function decode(der: Buffer) {
  const resp = AsnConvert.parse(der, OCSPResponse);
  if (!resp.responseBytes) return { status: resp.responseStatus, basic: null };
  const basic = AsnConvert.parse(resp.responseBytes.response.buffer, BasicOCSPResponse);
  const tbs = Buffer.from(AsnConvert.serialize(basic.tbsResponseData));
  const sigOk = verify('sha256', tbs, publicKey, Buffer.from(basic.signature));
  return { status: resp.responseStatus, basic, sigOk };
}

t.test('good, revoked (time and reason) and unknown, signed and echoing the CertID', async (t) => {
  for (const [serial, want] of [['4a01', 'good'], ['4a02', 'revoked'], ['4a03', 'unknown']] as const) {
    const id = certId(serial);
    const { status, basic, sigOk } = decode(await responder.respond(request([id])));
    t.equal(status, 0, 'successful');
    t.ok(sigOk, 'signature verifies with the responder key');
    const single = basic!.tbsResponseData.responses[0]!;
    t.same(Buffer.from(AsnConvert.serialize(single.certID)), id, 'CertID echoed byte for byte');
    t.ok(want === 'good' ? single.certStatus.good !== undefined : want === 'revoked' ? single.certStatus.revoked : single.certStatus.unknown !== undefined, want);
    if (want === 'revoked') {
      t.equal(single.certStatus.revoked!.revocationTime.toISOString(), '2026-11-25T08:00:00.000Z');
      t.equal(single.certStatus.revoked!.revocationReason?.reason, 1, 'keyCompromise');
    }
    t.equal(single.thisUpdate.toISOString(), clock.toISOString());
    t.equal(single.nextUpdate!.getTime() - single.thisUpdate.getTime(), 3_600_000);
  }
});

t.test('cached: no lookup or signature per request; refreshed past half-life; never served expired', async (t) => {
  const req = request([certId('4a01')]);
  await responder.respond(req);
  const [l0, s0] = [lookups, signs];
  for (let i = 0; i < 100; i++) await responder.respond(req);
  t.equal(lookups, l0, 'no lookups');
  t.equal(signs, s0, 'no signatures');
  t.ok(responder.stats.hits >= 100);
  clock = new Date(clock.getTime() + 31 * 60_000);
  const stale = decode(await responder.respond(req));
  t.equal(stale.basic!.tbsResponseData.responses[0]!.thisUpdate.toISOString(), '2026-11-25T10:00:00.000Z', 'served while refreshing');
  await new Promise((r) => setImmediate(r));
  t.equal(signs, s0 + 1, 're-signed in the background');
  const fresh = decode(await responder.respond(req));
  t.equal(fresh.basic!.tbsResponseData.responses[0]!.thisUpdate.toISOString(), clock.toISOString());
  clock = new Date(clock.getTime() + 2 * 3_600_000);
  const late = decode(await responder.respond(req));
  t.equal(late.basic!.tbsResponseData.responses[0]!.thisUpdate.toISOString(), clock.toISOString(), 'expired entry re-signed before serving');
});

t.test('invalidate: a revocation is answered at once', async (t) => {
  const req = request([certId('4a05')]);
  statuses.set('4a05', { status: 'good' });
  t.ok(decode(await responder.respond(req)).basic!.tbsResponseData.responses[0]!.certStatus.good !== undefined);
  statuses.set('4a05', { status: 'revoked', revokedAt: clock, reason: 'superseded' });
  t.ok(decode(await responder.respond(req)).basic!.tbsResponseData.responses[0]!.certStatus.good !== undefined, 'cached until invalidated');
  responder.invalidate('4a05');
  const after = decode(await responder.respond(req)).basic!.tbsResponseData.responses[0]!.certStatus;
  t.equal(after.revoked?.revocationReason?.reason, 4, 'superseded');
});

t.test('a nonce is echoed and its response signed for the request; several CertIDs are answered together', async (t) => {
  const s0 = signs;
  const nonce = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const r1 = decode(await responder.respond(request([certId('4a01')], nonce)));
  const ext = r1.basic!.tbsResponseData.responseExtensions!;
  t.equal(ext[0]!.extnID, OID_OCSP_NONCE);
  t.same(Buffer.from(ext[0]!.extnValue.buffer), octetString(nonce));
  await responder.respond(request([certId('4a01')], nonce));
  t.equal(signs, s0 + 2, 'every nonce request is signed');
  const multi = decode(await responder.respond(request([certId('4a01', 'sha256'), certId('4a02')])));
  t.equal(multi.basic!.tbsResponseData.responses.length, 2);
  t.ok(multi.sigOk);
});

t.test('errors: malformed, another issuer, unknown hash', async (t) => {
  t.equal(decode(await responder.respond(Buffer.from('300500', 'hex'))).status, 1, 'malformedRequest');
  t.equal(decode(await responder.respond(Buffer.from('3080', 'hex'))).status, 1, 'indefinite length refused');
  t.equal(decode(await responder.respond(Buffer.alloc(0))).status, 1);
  const other = Buffer.from('3013311130' + '0f06035504030c084f74686572204341', 'hex');
  t.equal(decode(await responder.respond(request([certId('4a01', 'sha1', other)]))).status, 6, 'unauthorized');
  const md5ish = seq(seq(oid('1.2.840.113549.2.5'), NULL), octetString(Buffer.alloc(16)), octetString(Buffer.alloc(16)), integerFromHex('4a01'));
  t.equal(decode(await responder.respond(request([md5ish]))).status, 6);
  t.throws(() => parseOcspRequest(request(Array.from({ length: 17 }, () => certId('4a01')))), { code: 'MALFORMED_DER' });
  // The request parser agrees with an independent one.
  const parsed = AsnConvert.parse(request([certId('4a01')]), OCSPRequest);
  t.equal(parsed.tbsRequest.requestList.length, 1);
});
