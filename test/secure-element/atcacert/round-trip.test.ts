/**
 * Issue 3: rebuild(compress(cert)) equals the issued DER byte for byte, for thousands of device
 * certificates from the template issuer (random keys and chip serials, several products, validity
 * 0/1/10/30 years, issue times now, around 2031/2032 and around 2049/2050), cross-checked by OpenSSL.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import t from 'tap';
import { compressWithAny, deviceCertDefs, rebuildCertificate, selectCertDef } from '../../../secure-element/atcacert/index.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { makeTestPki, toPem } from './ca-fixture.js';

const PRODUCTS = ['Widget 3000', 'Capteur Été – série B', 'X'.repeat(64)];
const VALIDITIES = [0, 1, 10, 30];
const EDGE_TIMES = [
  '2031-12-31T23:30:00Z',
  '2032-01-01T00:00:00Z',
  '2048-02-29T12:00:00Z',
  '2049-06-30T10:00:00Z',
  '2049-12-31T23:59:59Z',
  '2050-01-01T00:00:00Z',
  '2050-01-01T00:59:59Z',
  '2099-07-04T04:04:04Z',
];
const TOTAL = 2000;

function devicePublicKey(): Uint8Array {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 64));
}

t.test('2,000 device certificates round-trip bit-exactly and verify with OpenSSL', async (t) => {
  const pki = await makeTestPki();
  const dir = t.testdir({ 'root.pem': pki.rootPem, 'issuing.pem': pki.issuingPem });
  const crlUrl = 'http://pki.example.test/crl/issuing-01.crl';
  const ocspUrl = 'http://pki.example.test/ocsp';
  const issuers = new Map(VALIDITIES.map((v) => [v, createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, crlUrl, ocspUrl, validityYears: v })]));
  const defsFor = new Map<string, ReturnType<typeof deviceCertDefs>>();
  const samples = new Map<string, string>();
  let mismatches = 0;
  let nonCanonical = 0;
  let checkedSig = 0;
  const variantsSeen = new Set<string>();
  for (let i = 0; i < TOTAL; i++) {
    const validityYears = VALIDITIES[i % VALIDITIES.length]!;
    const product = PRODUCTS[i % PRODUCTS.length]!;
    const issuedAt =
      i % 5 === 0
        ? new Date(EDGE_TIMES[(i / 5) % EDGE_TIMES.length]!)
        : new Date(Date.UTC(2024, 0, 1) + Math.floor(Math.random() * 40 * 365.25 * 86_400_000)); // 2024-2063
    const publicKey = devicePublicKey();
    const chipSerial = new Uint8Array(randomBytes(9));
    chipSerial[0] = 0x01;
    chipSerial[1] = 0x23;
    chipSerial[8] = 0xee;
    const cert = await issuers.get(validityYears)!.issue({ chipSerial, publicKey, product, issuedAt });

    const key = `${product}|${validityYears}`;
    let defs = defsFor.get(key);
    if (!defs) defsFor.set(key, (defs = deviceCertDefs({ issuingCaDer: pki.issuingDer, product, validityYears, crlUrl, ocspUrl })));
    const { def, compressed } = compressWithAny(defs, cert.der);
    if (compressed.length !== 72) mismatches++;
    variantsSeen.add(def.name);
    // The device side: pick the definition from the template ID, rebuild from key + 72 bytes + chip serial.
    const chosen = selectCertDef(defs, compressed);
    const withCheck = i % 50 === 0;
    const rebuilt = rebuildCertificate(chosen, { publicKey, compressed, chipSerial, ...(withCheck ? { issuerPublicKey: pki.signer.publicKeyRaw } : {}) });
    if (withCheck) checkedSig++;
    if (!Buffer.from(rebuilt).equals(Buffer.from(cert.der))) mismatches++;
    // OpenSSL samples: the first of each (variant, validity, product) and the first round of edge times.
    const sampleKey = i % 5 === 0 && i < 5 * EDGE_TIMES.length * 4 ? `edge ${i}` : `${def.name}|${validityYears}|${product}`;
    if (!samples.has(sampleKey)) {
      samples.set(sampleKey, toPem(rebuilt));
      // DER-exact: a schema parse and re-serialisation changes nothing (no BER leftovers, no empty sequences).
      if (!Buffer.from(AsnConvert.serialize(AsnConvert.parse(rebuilt, Certificate))).equals(Buffer.from(rebuilt))) nonCanonical++;
    }
  }
  t.equal(mismatches, 0, `all ${TOTAL} compressed to 72 bytes and rebuilt equal to the issued DER`);
  t.equal(nonCanonical, 0, `sampled certificates are canonical DER`);
  t.ok(checkedSig > 0, 'signatures of rebuilt TBS verified with the issuer key');
  t.strictSame([...variantsSeen].sort(), ['device/gen-gen', 'device/utc-gen', 'device/utc-utc'], 'every date variant exercised');

  const files = [...samples.values()].map((pem, n) => {
    const f = join(dir, `dev-${n}.pem`);
    writeFileSync(f, pem);
    return f;
  });
  // -no_check_time: many samples are issued decades ahead (2049/2050) of the test CA's validity.
  const out = execFileSync('openssl', ['verify', '-no_check_time', '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), ...files], {
    encoding: 'utf8',
  });
  t.equal(out.trim().split('\n').filter((l) => l.endsWith(': OK')).length, files.length, `openssl verify: ${files.length} sampled certificates OK`);
});
