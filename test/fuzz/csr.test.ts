import t from 'tap';
import { pemOf } from '../../fuzz/csr-samples.js';
import { csrTarget } from '../../fuzz/targets/csr.js';
import { parseCsr } from '../../server/services/public-key.js';
import { seededPass } from './seeded-pass.js';

t.test('csr: seeded fuzz pass (hostile DER in PEM, damaged armour)', (t) => seededPass(t, csrTarget, 400, 0x11c4));

t.test('issue 11 (fuzz finding): a CSR whose key parameters are not a named curve is INVALID_CSR, not a library error', async (t) => {
  // The fuzzer's input: the SPKI's AlgorithmIdentifier parameters are SEQUENCE { prime256v1 }
  // instead of the OID; @peculiar/x509 threw "Data does not match to SpecifiedECDomain ASN1
  // schema" from the publicKey getter, outside parseCsr's guards.
  const pem = [
    '-----BEGIN CERTIFICATE REQUEST-----',
    'MIHxMIGYAgEAMDQxGzAZBgNVBAMTEjAxMjM0NTY3ODlBQkNERUZFRTEVMBMGA1UE',
    'ChMMS2V5bGluZSBGdXp6MFswFQYHKoZIzj0CATAKBggqhkjOPQMBBwNCAATbyQxR',
    'uNWyvW01CCgURl9UILAH7PHTa0uwJ1qYc6KakhFB+/1Rs/X4sH308iWqFqlbwGxR',
    '69SVszFGydhXRHhKoAAwCgYIKoZIzj0EAwIDSAAwRQIhAK1p+Sw8fn3CdlUniuWh',
    'r8YB0mAtbL95RONnseij4ZMiAiAJC/bCToJTbUWQ3kQMNnFRL6KTT5KdaaMQ6aR2',
    'yA2V4w==',
    '-----END CERTIFICATE REQUEST-----',
  ].join('\n');
  await t.rejects(parseCsr(pem), { code: 'INVALID_CSR' });
});

t.test('issue 11 (fuzz finding): a CSR whose ECDSA-Sig-Value is not DER is refused, though its r and s verify', async (t) => {
  // The fuzzer flipped the signature SEQUENCE's length (0x44 → 0x40): @peculiar/x509 still read
  // both INTEGERs and verified; OpenSSL takes the signature only in DER.
  const der = Buffer.from(
    '308201283081d00201003034311b30190603550403131230313233343536373839414243444546454531153013060355040a130c4b65796c696e652046757a7a' +
    '3059301306072a8648ce3d020106082a8648ce3d03010703420004495ba0a27e9dd7c1020379b8b5df6d4f7e5d0bfddcb2de47881f180adfc5c6d44b5601' +
    '02168c9abad2510eb15583fb042739a1a513b2a950c96af269b02ee089a03a303806092a864886f70d01090e312b3029300e0603551d0f0101ff04040302' +
    '078030170603551d110410300e820c6465766963652e6c6f63616c300a06082a8648ce3d040302034700304002205a78bc66a4d1f3c2cedfcd1253a3e23a' +
    'd922d8d43323aadb23ac7019c5f16424022003a713df1539d3b62cde357c2ae94525c3b9fd9d53445ec2811c6fa1363e959f', 'hex');
  await t.rejects(parseCsr(pemOf(der)), { code: 'CSR_SIGNATURE_INVALID' });
  // The same request with the length as signed by its key (0x44) is accepted.
  const fixed = Buffer.from(der);
  fixed[fixed.length - 69] = 0x44;
  t.equal((await parseCsr(pemOf(fixed))).publicKey.length, 64);
});
