import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { toPem } from '../../../common/pem.js';
import * as x509 from '../../../common/x509.js';
import { addYears, createIssuingCa, createIssuingCaCsr, createOcspResponderCert, createRootCa, createServerTlsCert, createClientCert, hourFloor, keyIdentifier, OID_OCSP_NOCHECK, randomSerialHex } from '../../../server/ca/profiles.js';
import { ecdsaSignatureValid } from '../../../server/ca/chain.js';
import { generateSoftwareKey } from '../../../server/ca/software-key.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

const NOW = new Date('2026-03-14T15:42:17.123Z');
const der = (c: x509.X509Certificate) => new Uint8Array(c.rawData);

async function chain() {
  const rootSigner = createSoftSigner(undefined, 'soft:root');
  const issuingSigner = createSoftSigner(undefined, 'soft:issuing');
  const root = await createRootCa({ signer: rootSigner, org: 'Acme', now: NOW });
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await issuingSigner.publicKeySpki(), org: 'Acme', now: NOW });
  return { rootSigner, issuingSigner, root, issuing, issuer: { signer: issuingSigner, cert: issuing } };
}

t.test('serials: 16 bytes, positive, first byte 01xxxxxx', async (t) => {
  for (let i = 0; i < 200; i++) {
    const s = Buffer.from(randomSerialHex(), 'hex');
    t.equal(s.length, 16);
    if ((s[0]! & 0xc0) !== 0x40) t.fail(`first byte ${s[0]!.toString(16)}`);
  }
  t.equal(hourFloor(NOW).toISOString(), '2026-03-14T15:00:00.000Z');
  t.equal(addYears(hourFloor(NOW), 20).toISOString(), '2046-03-14T15:00:00.000Z');
});

t.test('issuing CA profile: the fields the compressed signer certificate relies on', async (t) => {
  const { root, issuing, issuingSigner } = await chain();
  t.equal(issuing.serialNumber.length, 32, '16-byte serial, no 00 pad');
  t.equal(issuing.notBefore.toISOString(), '2026-03-14T15:00:00.000Z');
  t.equal(issuing.notAfter.toISOString(), '2046-03-14T15:00:00.000Z');
  t.equal(issuing.subject, 'O=Acme, CN=Acme Issuing CA');
  t.equal(issuing.issuer, root.subject);
  t.same(issuing.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } });
  const bc = issuing.getExtension(x509.BasicConstraintsExtension)!;
  t.same([bc.critical, bc.ca, bc.pathLength], [true, true, 0]);
  const ku = issuing.getExtension(x509.KeyUsagesExtension)!;
  t.same([ku.critical, ku.usages], [true, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign]);
  const ski = issuing.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
  t.equal(ski, keyIdentifier(await issuingSigner.publicKeySpki()));
  t.equal(issuing.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, root.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
  // Validity as UTCTime (RFC 5280 §4.1.2.5) for both dates before 2050; the 30-year root ends in GeneralizedTime.
  const asn = (c: x509.X509Certificate) => execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: Buffer.from(der(c)) }).toString();
  t.equal((asn(issuing).match(/UTCTIME/g) ?? []).length, 2);
  t.match(asn(root), /UTCTIME\s+:260314150000Z[\s\S]*GENERALIZEDTIME\s+:20560314150000Z/);
  t.notMatch(asn(issuing), /SEQUENCE\s*\n.*l=\s*0 cons/, 'no empty sequences');
  const rbc = root.getExtension(x509.BasicConstraintsExtension)!;
  t.same([rbc.critical, rbc.ca, rbc.pathLength], [true, true, undefined]);
});

t.test('leaf profiles verify with openssl and carry their purposes', async (t) => {
  const { root, issuing, issuer } = await chain();
  const dir = t.testdir();
  writeFileSync(join(dir, 'root.pem'), toPem(der(root)));
  writeFileSync(join(dir, 'issuing.pem'), toPem(der(issuing)));
  const k = () => generateSoftwareKey().spki;
  const station = await createClientCert({ issuer, stationId: 'station-07', org: 'Acme', spki: k(), now: NOW });
  const server = await createServerTlsCert({ issuer, org: 'Acme', spki: k(), dnsNames: ['factory.local'], now: NOW });
  const ocsp = await createOcspResponderCert({ issuer, org: 'Acme', spki: k(), now: NOW });
  t.equal(station.subject, 'O=Acme, OU=station, CN=station-07');
  t.same(station.getExtension(x509.ExtendedKeyUsageExtension)!.usages, [x509.ExtendedKeyUsage.clientAuth]);
  t.same(server.getExtension(x509.ExtendedKeyUsageExtension)!.usages, [x509.ExtendedKeyUsage.serverAuth]);
  const san = server.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
  t.same(san, [{ type: 'dns', value: 'localhost' }, { type: 'dns', value: 'factory.local' }, { type: 'ip', value: '127.0.0.1' }]);
  t.same(ocsp.getExtension(x509.ExtendedKeyUsageExtension)!.usages, [x509.ExtendedKeyUsage.ocspSigning]);
  t.ok(ocsp.getExtension(OID_OCSP_NOCHECK), 'id-pkix-ocsp-nocheck present');
  for (const [name, c, purpose] of [['station', station, 'sslclient'], ['server', server, 'sslserver'], ['ocsp', ocsp, 'ocsphelper']] as const) {
    t.notOk(c.getExtension(x509.BasicConstraintsExtension), `${name}: no empty basicConstraints SEQUENCE`);
    const f = join(dir, `${name}.pem`);
    writeFileSync(f, toPem(der(c)));
    const args = ['verify', '-attime', String(Math.floor(NOW.getTime() / 1000) + 7200), '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem')];
    if (purpose !== 'ocsphelper') args.push('-purpose', purpose);
    t.match(execFileSync('openssl', [...args, f]).toString(), /: OK/, `${name} passes openssl verify -x509_strict`);
  }
});

t.test('CSR of the issuing CA is signed by its key', async (t) => {
  const signer = createSoftSigner();
  const csr = await createIssuingCaCsr({ signer, org: 'Acme' });
  t.equal(csr.subject, 'O=Acme, CN=Acme Issuing CA');
  t.ok(ecdsaSignatureValid(csr, await signer.publicKeySpki()));
  t.notOk(ecdsaSignatureValid(csr, await createSoftSigner().publicKeySpki()));
});
