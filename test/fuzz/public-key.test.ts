import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { publicKeyTarget } from '../../fuzz/targets/public-key.js';
import { parsePublicKey, spkiToRaw } from '../../server/services/public-key.js';
import { seededPass } from './seeded-pass.js';

t.test('public-key: seeded fuzz pass (hex, base64 and DER forms)', (t) => seededPass(t, publicKeyTarget, 1000, 0x11b1));

t.test('issue 11 (fuzz finding): an SPKI is accepted only as the one DER encoding of its key', async (t) => {
  const der = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
  t.equal(spkiToRaw(der).length, 64, 'the canonical encoding');
  const variants: Record<string, Buffer> = {
    'trailing bytes': Buffer.concat([der, Buffer.from([0, 5])]),
    'a long-form length where the short form fits': Buffer.concat([Buffer.from([0x30, 0x81, 0x59]), der.subarray(2)]),
    // Found by the fuzzer: asn1-schema skipped an extra element in the AlgorithmIdentifier.
    'a second curve OID in the AlgorithmIdentifier': Buffer.from('3063301d06072a8648ce3d020106082a8648ce3d03010706082a8648ce3d030107' + der.subarray(-68).toString('hex'), 'hex'),
  };
  for (const [what, bad] of Object.entries(variants)) {
    t.throws(() => spkiToRaw(bad), { code: 'MALFORMED_DER' }, what);
    t.throws(() => parsePublicKey(bad.toString('base64')), { code: 'MALFORMED_DER' }, `${what} (base64 in publicKey)`);
  }
});
