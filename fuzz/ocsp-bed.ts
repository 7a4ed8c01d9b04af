/**
 * The OCSP responder the `ocsp` and `ocsp-http` targets drive: a soft-key issuing CA (which also
 * signs the responses), three known serials (two good, one revoked), valid requests for every
 * CertID form the profile accepts (four hashes, parameters absent or NULL, nonce, version,
 * requestor name, signature) and an independent judge of answers (@peculiar/asn1-ocsp and
 * node:crypto, not the responder's own code).
 */
import { createHash, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import { createRootCa } from '../server/ca/profiles.js';
import { integerFromHex, NULL, octetString, oid, seq, tlv } from '../common/der/writer.js';
import { OcspResponder } from '../server/ca/ocsp-responder.js';
import { OID_OCSP_NONCE, parseOcspRequest } from '../server/ca/ocsp-request.js';
import { responderIdentity, type CertStatus } from '../server/ca/ocsp-response.js';
import { createSoftSigner } from '../test/helpers/soft-signer.js';
import { ensure, expectTypedError, FuzzFinding, describe } from './harness.js';
import { encodeDerTree, parseDerTree } from './mutate-bytes.js';

/** The responder with what judging its answers needs. */
export interface OcspBed {
  responder: OcspResponder;
  /** Valid DER requests of every accepted form (and a few the profile refuses). */
  samples: Uint8Array[];
  publicKey: KeyObject;
  statuses: ReadonlyMap<string, CertStatus>;
  /** Failures the responder reported through onError (each one a finding). */
  errors: unknown[];
}

const HASHES = [['sha1', '1.3.14.3.2.26'], ['sha256', '2.16.840.1.101.3.4.2.1'], ['sha384', '2.16.840.1.101.3.4.2.2'], ['sha512', '2.16.840.1.101.3.4.2.3']] as const;

/** Builds the responder. */
export async function ocspBed(): Promise<OcspBed> {
  const signer = createSoftSigner(undefined, 'soft:issuing');
  const cert = await createRootCa({ signer, org: 'Keyline Fuzz' });
  const der = new Uint8Array(cert.rawData);
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, spki, …
  const tbs = parseDerTree(der).children![0]!.children!;
  // Re-encoding a parsed node gives its bytes back: the certificate is minimal DER.
  const nameDer = encodeDerTree(tbs[5]!);
  const spki = await signer.publicKeySpki();
  const keyBits = spki.subarray(spki.length - 65);
  const statuses = new Map<string, CertStatus>([
    ['4a01', { status: 'good' }],
    ['7fee01020304050607', { status: 'good' }],
    ['4a02', { status: 'revoked', revokedAt: new Date('2026-11-25T08:00:00Z'), reason: 'keyCompromise' }],
  ]);
  const errors: unknown[] = [];
  const responder = new OcspResponder({
    identity: responderIdentity(signer, der, spki), issuerNameDer: nameDer, issuerSpki: spki,
    lookup: async (serial) => statuses.get(serial) ?? { status: 'unknown' },
    onError: (err) => errors.push(err),
  });
  const certId = (hash: (typeof HASHES)[number], serial: string, params: boolean) =>
    seq(seq(oid(hash[1]), ...(params ? [NULL] : [])), octetString(createHash(hash[0]).update(nameDer).digest()), octetString(createHash(hash[0]).update(keyBits).digest()), integerFromHex(serial));
  const request = (id: Buffer, o: { nonce?: boolean; version?: boolean; requestor?: boolean; signature?: boolean; twice?: boolean } = {}) => seq(
    seq(
      ...(o.version ? [tlv(0xa0, Buffer.from('020100', 'hex'))] : []),
      ...(o.requestor ? [tlv(0xa1, tlv(0x82, Buffer.from('requester.example')))] : []),
      seq(seq(id), ...(o.twice ? [seq(id)] : [])),
      ...(o.nonce ? [tlv(0xa2, seq(seq(oid(OID_OCSP_NONCE), octetString(octetString(Buffer.alloc(16, 7))))))] : []),
    ),
    ...(o.signature ? [tlv(0xa0, seq(seq(oid('1.2.840.10045.4.3.2')), tlv(0x03, Buffer.from([0, 1, 2, 3]))))] : []),
  );
  const samples: Uint8Array[] = [];
  for (const h of HASHES) for (const serial of ['4a01', '4a02', '4a03']) samples.push(request(certId(h, serial, h[0] === 'sha1')));
  samples.push(request(certId(HASHES[1], '7fee01020304050607', false), { nonce: true, version: true }));
  samples.push(request(certId(HASHES[0], '4a01', false), { requestor: true, signature: true }));
  samples.push(request(certId(HASHES[0], '4a02', true), { twice: true }));
  return { responder, samples, publicKey: signer.publicKey, statuses, errors };
}

/**
 * Judges one answer to `request`: a DER OCSPResponse; malformedRequest exactly when the profile
 * refuses the request; for an accepted one, unauthorized (another issuer, unknown serial),
 * tryLater (signing budget) or a successful response signed by the CA that echoes the CertID and
 * tells the serial's true status. Returns the outcome label.
 */
export function judgeOcspAnswer(bed: OcspBed, request: Uint8Array | null, answer: Uint8Array): string {
  let resp: OCSPResponse;
  try {
    resp = AsnConvert.parse(Buffer.from(answer), OCSPResponse);
  } catch (err) {
    throw new FuzzFinding(`answer is not an OCSPResponse (${describe(err)}): ${Buffer.from(answer).toString('hex').slice(0, 120)}`);
  }
  const status = resp.responseStatus;
  ensure(status !== OCSPResponseStatus.internalError, 'internalError answer');
  let parsed: ReturnType<typeof parseOcspRequest> | null = null;
  if (request) {
    try {
      parsed = parseOcspRequest(request);
    } catch (err) {
      expectTypedError(err, 'parseOcspRequest', ['MALFORMED_DER']);
    }
  }
  if (!parsed) {
    ensure(status === OCSPResponseStatus.malformedRequest, `a request outside the profile was answered ${OCSPResponseStatus[status]}`);
    return 'malformedRequest';
  }
  ensure(status !== OCSPResponseStatus.malformedRequest, 'a request the profile accepts was answered malformedRequest');
  if (status !== OCSPResponseStatus.successful) {
    ensure(status === OCSPResponseStatus.unauthorized || status === OCSPResponseStatus.tryLater, `answered ${OCSPResponseStatus[status]}`);
    ensure(!resp.responseBytes, 'an error answer carries responseBytes');
    return OCSPResponseStatus[status]!;
  }
  const known = bed.statuses.get(parsed.certId.serialHex);
  ensure(known, `a successful answer about serial ${parsed.certId.serialHex}, which the CA never issued`);
  ensure(resp.responseBytes, 'successful answer without responseBytes');
  const basic = AsnConvert.parse(resp.responseBytes.response.buffer, BasicOCSPResponse);
  const tbs = Buffer.from(AsnConvert.serialize(basic.tbsResponseData));
  ensure(verify('sha256', tbs, bed.publicKey, Buffer.from(basic.signature)), 'response signature does not verify with the CA key');
  const singles = basic.tbsResponseData.responses;
  ensure(singles.length === 1, `${singles.length} SingleResponses`);
  const s = singles[0]!;
  ensure(Buffer.from(AsnConvert.serialize(s.certID)).equals(parsed.certId.der), 'the CertID is not echoed byte for byte');
  const told = s.certStatus.good !== undefined ? 'good' : s.certStatus.revoked ? 'revoked' : 'unknown';
  ensure(told === known.status, `serial ${parsed.certId.serialHex} is ${known.status}, answered ${told}`);
  return `successful (${told})`;
}
