/**
 * The OCSP responder's policy (RFC 6960, RFC 5019): answers decoded with @peculiar/asn1-ocsp (an
 * independent parser), the cache (hits, refresh before expiry, invalidation of every key of a
 * serial, bounds), nonces ignored, the signing budget and coalescing, and the error statuses.
 * openssl checks the same responder end to end in test/integration/revocation.test.ts and
 * test/integration/issue-11-ocsp.test.ts.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse, OCSPRequest } from '@peculiar/asn1-ocsp';
import { integerFromHex, NULL, octetString, oid, seq, tlv } from '../../../common/der/writer.js';
import { OcspResponder, spkiKeyBits, type OcspResponderDeps } from '../../../server/ca/ocsp-responder.js';
import { responderIdentity, type CertStatus } from '../../../server/ca/ocsp-response.js';
import { OID_OCSP_NONCE } from '../../../server/ca/ocsp-request.js';
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
function makeResponder(opts: Partial<OcspResponderDeps> = {}): OcspResponder {
  return new OcspResponder({
    identity: responderIdentity(signer, responderCert, spki),
    issuerNameDer: nameDer, issuerSpki: spki, validityMs: 3_600_000, now: () => clock,
    lookup: async (serial) => (lookups++, statuses.get(serial) ?? { status: 'unknown' }),
    ...opts,
  });
}
const responder = makeResponder();

type Alg = 'sha1' | 'sha256' | 'sha384' | 'sha512';
const ALG_OIDS: Record<Alg, string> = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' };
function certId(serialHex: string, alg: Alg = 'sha1', name: Uint8Array = nameDer, params: Buffer | null = NULL): Buffer {
  return seq(seq(oid(ALG_OIDS[alg]), ...(params ? [params] : [])), octetString(createHash(alg).update(name).digest()), octetString(createHash(alg).update(spkiKeyBits(spki)).digest()), integerFromHex(serialHex));
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

const statusOf = (der: Buffer) => decode(der).status;
const single = (der: Buffer) => decode(der).basic!.tbsResponseData.responses[0]!;

t.test('good and revoked (time and reason), signed and echoing the CertID; unknown serials unauthorized, unsigned', async (t) => {
  for (const [serial, want] of [['4a01', 'good'], ['4a02', 'revoked']] as const) {
    for (const params of [NULL, null]) {
      const id = certId(serial, 'sha1', nameDer, params);
      const { status, basic, sigOk } = decode(await responder.respond(request([id])));
      t.equal(status, 0, 'successful');
      t.ok(sigOk, 'signature verifies with the responder key');
      const s = basic!.tbsResponseData.responses[0]!;
      t.same(Buffer.from(AsnConvert.serialize(s.certID)), id, `CertID echoed byte for byte (parameters ${params ? 'NULL' : 'absent'})`);
      t.ok(want === 'good' ? s.certStatus.good !== undefined : s.certStatus.revoked, want);
      if (want === 'revoked') {
        t.equal(s.certStatus.revoked!.revocationTime.toISOString(), '2026-11-25T08:00:00.000Z');
        t.equal(s.certStatus.revoked!.revocationReason?.reason, 1, 'keyCompromise');
      }
      t.equal(s.thisUpdate.toISOString(), clock.toISOString());
      t.equal(s.nextUpdate!.getTime() - s.thisUpdate.getTime(), 3_600_000);
      t.notOk(basic!.tbsResponseData.responseExtensions, 'no response extensions');
    }
  }
  const s0 = signs;
  const unknown = await responder.respond(request([certId('4a03')]));
  t.same(unknown, Buffer.from('30030a0106', 'hex'), 'unauthorized (RFC 5019 §2.2.2), no responseBytes');
  t.equal(signs, s0, 'no signature for a serial this CA has no record of');
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

t.test('invalidate: a revocation is answered at once, for every hash algorithm and parameters form', async (t) => {
  statuses.set('4a05', { status: 'good' });
  const forms = (['sha1', 'sha256', 'sha384', 'sha512'] as const).flatMap((alg) => [certId('4a05', alg), certId('4a05', alg, nameDer, null)]);
  for (const id of forms) t.ok(single(await responder.respond(request([id]))).certStatus.good !== undefined);
  const s0 = signs;
  for (const id of forms) await responder.respond(request([id]));
  t.equal(signs, s0, 'eight cached entries, one per form');
  statuses.set('4a05', { status: 'revoked', revokedAt: clock, reason: 'superseded' });
  t.ok(single(await responder.respond(request([forms[3]!]))).certStatus.good !== undefined, 'cached until invalidated');
  responder.invalidate('004A05');
  for (const id of forms) t.equal(single(await responder.respond(request([id]))).certStatus.revoked?.revocationReason?.reason, 4, 'superseded');
});

t.test('an invalidation during a signature: later requests do not join the stale one', async (t) => {
  statuses.set('4a06', { status: 'good' });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = makeResponder({ identity: responderIdentity({ ...signer, sign: async (m) => (await gate, signer.sign(m)) }, responderCert, spki) });
  const req = request([certId('4a06')]);
  const first = slow.respond(req);
  await new Promise((r) => setTimeout(r, 10));
  statuses.set('4a06', { status: 'revoked', revokedAt: clock, reason: 'keyCompromise' });
  slow.invalidate('4a06');
  const second = slow.respond(req);
  release();
  t.ok(single(await first).certStatus.good !== undefined, 'the request made before the revocation');
  t.ok(single(await second).certStatus.revoked, 'the request made after it');
  t.ok(single(await slow.respond(req)).certStatus.revoked, 'the pre-revocation answer was not cached');
});

t.test('nonces are ignored: one pre-signed answer, no nonce echoed, no signature per request', async (t) => {
  const r = makeResponder();
  const s0 = signs;
  for (let i = 0; i < 50; i++) {
    const nonce = Buffer.alloc(16, i);
    const { status, basic, sigOk } = decode(await r.respond(request([certId('4a01')], nonce)));
    t.equal(status, 0);
    t.ok(sigOk);
    t.notOk(basic!.tbsResponseData.responseExtensions, 'no nonce in the response');
  }
  t.equal(signs, s0 + 1, 'one signature for fifty nonces');
  t.equal(r.stats.noncesIgnored, 50);
  t.equal(r.stats.signed, 1);
});

t.test('several CertIDs in one request: malformedRequest (RFC 5019 §2.1.1), unsigned', async (t) => {
  const r = makeResponder();
  t.equal(statusOf(await r.respond(request([certId('4a01', 'sha256'), certId('4a02')]))), 1);
  t.equal(statusOf(await r.respond(request([certId('4a01'), certId('4a01')]))), 1);
  t.equal(r.stats.signed, 0);
  t.equal(r.stats.refused.malformed, 2);
});

t.test('concurrent misses for one key are signed once', async (t) => {
  const r = makeResponder();
  const answers = await Promise.all(Array.from({ length: 20 }, () => r.respond(request([certId('4a01', 'sha384')]))));
  t.equal(r.stats.signed, 1);
  t.ok(answers.every((a) => a.equals(answers[0]!)), 'every caller gets the same signed answer');
  t.equal(r.stats.coalesced, 19);
});

t.test('the signing budget: over it, a missing entry answers tryLater unsigned; a stale one is still served', async (t) => {
  const serials = Array.from({ length: 8 }, (_, i) => (0x5b00 + i).toString(16));
  for (const s of serials) statuses.set(s, { status: 'good' });
  const r = makeResponder({ signsPerSecond: 1, signBurst: 3 });
  const got = [];
  for (const s of serials) got.push(statusOf(await r.respond(request([certId(s)]))));
  t.same(got, [0, 0, 0, 3, 3, 3, 3, 3], 'three signed (the burst), then tryLater');
  t.equal(r.stats.signed, 3);
  t.equal(r.stats.refused.tryLater, 5);
  t.equal(r.cache.entries, 3, 'refusals cache nothing');
  clock = new Date(clock.getTime() + 2000);
  t.equal(statusOf(await r.respond(request([certId(serials[3]!)]))), 0, 'the budget refills at its rate');
  t.equal(statusOf(await r.respond(request([certId(serials[4]!)]))), 0);
  t.equal(statusOf(await r.respond(request([certId(serials[5]!)]))), 3);
  // Past half-life with an empty budget: the entry is served as it is, never past nextUpdate.
  clock = new Date(clock.getTime() + 31 * 60_000);
  const drain = makeResponder({ signsPerSecond: 0.00001, signBurst: 1 });
  const req = request([certId(serials[0]!)]);
  const first = await drain.respond(req);
  clock = new Date(clock.getTime() + 31 * 60_000);
  t.same(await drain.respond(req), first, 'stale answer served while the budget is empty');
  await new Promise((r) => setImmediate(r));
  t.equal(drain.stats.signed, 1, 'no refresh over budget');
  clock = new Date(clock.getTime() + 30 * 60_000);
  t.equal(statusOf(await drain.respond(req)), 3, 'expired and over budget: tryLater');
});

t.test('the cache stays within its entry and byte bounds, dropping the least recently used', async (t) => {
  const serials = Array.from({ length: 40 }, (_, i) => (0x6c00 + i).toString(16));
  for (const s of serials) statuses.set(s, { status: 'good' });
  const byEntries = makeResponder({ cacheMaxEntries: 10 });
  for (const s of serials) await byEntries.respond(request([certId(s)]));
  t.equal(byEntries.cache.entries, 10);
  t.equal(byEntries.cache.evictions, 30);
  const before = byEntries.stats.signed;
  await byEntries.respond(request([certId(serials[39]!)]));
  t.equal(byEntries.stats.signed, before, 'the most recent is still cached');
  await byEntries.respond(request([certId(serials[0]!)]));
  t.equal(byEntries.stats.signed, before + 1, 'the oldest was dropped');

  const byBytes = makeResponder({ cacheMaxBytes: 8 * 1024 });
  for (const s of serials) await byBytes.respond(request([certId(s)]));
  t.ok(byBytes.cache.bytes <= 8 * 1024, `${byBytes.cache.bytes} bytes <= 8 KiB`);
  t.ok(byBytes.cache.entries >= 5 && byBytes.cache.entries < 40, `${byBytes.cache.entries} entries kept`);
});

t.test('errors: malformed, another issuer, unknown hash', async (t) => {
  t.equal(statusOf(await responder.respond(Buffer.from('300500', 'hex'))), 1, 'malformedRequest');
  t.equal(statusOf(await responder.respond(Buffer.from('3080', 'hex'))), 1, 'indefinite length refused');
  t.equal(statusOf(await responder.respond(Buffer.alloc(0))), 1);
  const other = Buffer.from('3013311130' + '0f06035504030c084f74686572204341', 'hex');
  t.equal(statusOf(await responder.respond(request([certId('4a01', 'sha1', other)]))), 6, 'unauthorized');
  const md5ish = seq(seq(oid('1.2.840.113549.2.5'), NULL), octetString(Buffer.alloc(16)), octetString(Buffer.alloc(16)), integerFromHex('4a01'));
  t.equal(statusOf(await responder.respond(request([md5ish]))), 1, 'unknown hash algorithm: malformedRequest');
  // The request builder agrees with an independent parser.
  const parsed = AsnConvert.parse(request([certId('4a01')]), OCSPRequest);
  t.equal(parsed.tbsRequest.requestList.length, 1);
});

t.test('a failing HSM answers internalError and is reported', async (t) => {
  const seen: unknown[] = [];
  const broken = makeResponder({
    identity: responderIdentity({ ...signer, sign: async () => { throw new Error('CKR_DEVICE_ERROR'); } }, responderCert, spki),
    onError: (err) => seen.push(err),
  });
  t.equal(statusOf(await broken.respond(request([certId('4a01')]))), 2);
  t.equal(broken.stats.errors, 1);
  t.equal(seen.length, 1);
});
