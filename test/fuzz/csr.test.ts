import t from 'tap';
import { csrTarget } from '../../fuzz/targets/csr.js';
import { parseCsr } from '../../server/services/public-key.js';
import { seededPass } from './seeded-pass.js';

t.test('csr: seeded fuzz pass (hostile DER in PEM, damaged armour)', (t) => seededPass(t, csrTarget, 600, 0x11c4));

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
