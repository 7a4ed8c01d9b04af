/**
 * Target `est`: the EST request path up to the provisioning service (server/est): a base64 body
 * (decodeBase64Body) → the PKCS#10 structure (readEstCsr) → the chip serial of its subject
 * (serialOfSubject) → the key and its proof of possession (parseCsr, as the service runs it);
 * and the answer path: certs-only PKCS#7 (certsOnly) in base64 lines (encodeBase64Body) read
 * back. Inputs: CSR samples and hostile DER in base64 wrapped every way (LF, CRLF, spaces, one
 * line), damaged base64, raw bytes. Every refusal is one of the EST codes; an accepted request
 * names an 18-hex serial and a key that is the one in its SubjectPublicKeyInfo; answers decode to
 * exactly what was encoded.
 */
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import * as x509 from '../../common/x509.js';
import { decodeBase64Body, encodeBase64Body } from '../../server/est/base64-body.js';
import { readEstCsr, serialOfSubject } from '../../server/est/est-csr.js';
import { certsOnly } from '../../server/est/pkcs7-certs-only.js';
import { parseCsr } from '../../server/services/public-key.js';
import { csrSamples } from '../csr-samples.js';
import { ensure, expectTypedError, FuzzFinding, type FuzzTarget } from '../harness.js';
import { hostileDer } from '../mutate-bytes.js';

const BODY_CODES = ['INVALID_CSR'] as const;
const CSR_CODES = ['INVALID_CSR', 'MALFORMED_DER'] as const;
const KEY_CODES = ['INVALID_CSR', 'CSR_SIGNATURE_INVALID', 'MALFORMED_DER', 'UNSUPPORTED_CURVE', 'INVALID_PUBLIC_KEY', 'POINT_NOT_ON_CURVE'] as const;

type Input =
  | { kind: 'request'; body: Uint8Array; der: Uint8Array | null }
  | { kind: 'answer'; certs: Uint8Array[]; lineLength: number };

/** Base64 of `der` laid out as a client might send it. */
function wrapped(der: Uint8Array, how: number, width: number): Uint8Array {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(new RegExp(`.{1,${Math.max(1, width)}}`, 'g')) ?? [''];
  const text = [lines.join('\n'), lines.join('\r\n') + '\r\n', b64, lines.map((l) => ` ${l}\t`).join('\n'), `${b64}\n\n`][how % 5]!;
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/** Base64 text damage: a character outside the alphabet, padding inside, a cut, a stray byte. */
function damaged(der: Uint8Array, how: number, at: number): Uint8Array {
  const b64 = Buffer.from(der).toString('base64');
  const i = at % Math.max(1, b64.length);
  const text = [b64.slice(0, i) + '!' + b64.slice(i), b64.slice(0, i) + '=' + b64.slice(i), b64.slice(0, i), `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`][how % 4]!;
  const out = Buffer.from(text, 'latin1');
  return how % 5 === 4 ? Buffer.concat([out, Buffer.from([0xff, 0x00])]) : out;
}

async function sampleCerts(): Promise<Uint8Array[]> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const crypto = webcrypto as unknown as Crypto;
  return Promise.all(['CN=Fuzz Root', 'CN=Fuzz Issuing', 'CN=0123456789ABCDEFEE'].map(async (name, i) =>
    new Uint8Array((await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: `0${i + 1}`, name, keys, signingAlgorithm: alg, notBefore: new Date('2026-01-01'), notAfter: new Date('2036-01-01') }, crypto)).rawData)));
}

/** The target. */
export const estTarget: FuzzTarget<Input> = {
  name: 'est',
  summary: 'EST request path: base64 body → PKCS#10 → subject serial → key and signature (parseCsr); answers: certs-only PKCS#7 in base64 lines read back exactly',
  heapBoundBytes: 24 * 1024 * 1024,
  async setup() {
    const ders = (await csrSamples()).map((s) => s.der);
    const certs = await sampleCerts();
    const request: fc.Arbitrary<Input> = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(hostileDer(ders), fc.nat(4), fc.integer({ min: 1, max: 100 })).map(([der, how, width]): Input => ({ kind: 'request', body: wrapped(der, how, width), der })) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...ders), fc.nat(4), fc.nat()).map(([der, how, at]): Input => ({ kind: 'request', body: damaged(der, how, at), der: null })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }).map((body): Input => ({ kind: 'request', body, der: null })) },
    );
    const answer: fc.Arbitrary<Input> = fc.tuple(fc.subarray(certs, { minLength: 1 }), fc.constantFrom(0, 4, 64, 76)).map(([c, lineLength]): Input => ({ kind: 'answer', certs: c, lineLength }));
    return {
      arbitrary: fc.oneof({ weight: 8, arbitrary: request }, { weight: 1, arbitrary: answer }),
      async check(input) {
        if (input.kind === 'answer') return checkAnswer(input.certs, input.lineLength);
        let der: Uint8Array;
        try {
          der = decodeBase64Body(input.body, 'pkcs10');
        } catch (err) {
          expectTypedError(err, 'decodeBase64Body', BODY_CODES);
          return 'body refused';
        }
        if (input.der) ensure(Buffer.from(der).equals(Buffer.from(input.der)), 'decodeBase64Body: wrapped base64 did not decode to the bytes encoded');
        let csr: ReturnType<typeof readEstCsr>;
        try {
          csr = readEstCsr(der);
        } catch (err) {
          expectTypedError(err, 'readEstCsr', CSR_CODES);
          return `csr: ${err.code}`;
        }
        try {
          ensure(/^[0-9A-F]{18}$/.test(serialOfSubject(csr.subject)), 'serialOfSubject returned something other than 18 upper-case hex digits');
        } catch (err) {
          if (err instanceof FuzzFinding) throw err;
          expectTypedError(err, 'serialOfSubject', ['INVALID_SERIAL']);
        }
        let key: Uint8Array;
        try {
          key = (await parseCsr(csr.pem)).publicKey;
        } catch (err) {
          expectTypedError(err, 'parseCsr', KEY_CODES);
          return `key: ${err.code}`;
        }
        // The key the service certifies is the one readEstCsr saw (the SPKI's last 64 bytes: 04 ‖ X ‖ Y).
        ensure(Buffer.from(csr.spki.subarray(csr.spki.length - 64)).equals(Buffer.from(key)), 'parseCsr and readEstCsr disagree on the request\'s key');
        return 'accepted';
      },
      close() {},
    };
  },
};

/** certsOnly → base64 lines → decoded and parsed as CMS: the same certificates, in order, no line over 76. */
function checkAnswer(certs: Uint8Array[], lineLength: number): string {
  const body = encodeBase64Body(certsOnly(certs), lineLength);
  const text = body.toString('latin1');
  ensure(text.split('\n').every((l) => l.length <= (lineLength || Infinity)), () => `encodeBase64Body: a line over ${lineLength}`);
  const der = decodeBase64Body(body, 'answer');
  const info = AsnConvert.parse(der, ContentInfo);
  ensure(info.contentType === '1.2.840.113549.1.7.2', 'certsOnly: not SignedData');
  const sd = AsnConvert.parse(info.content, SignedData);
  const got = (sd.certificates ?? []).map((c) => new Uint8Array(AsnConvert.serialize(c.certificate!)));
  ensure(got.length === certs.length && got.every((g, i) => Buffer.from(g).equals(Buffer.from(certs[i]!))), 'certsOnly: the certificates read back differ');
  ensure(sd.signerInfos.length === 0 && sd.digestAlgorithms.length === 0, 'certsOnly: not degenerate');
  return 'answer';
}
