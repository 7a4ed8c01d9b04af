import t from 'tap';
import { formatPkcs11Uri, parsePkcs11Uri } from '../../../server/hsm/pkcs11-uri.js';

t.test('parses the RFC 7512 §3 examples Keyline meets', async (t) => {
  const u = parsePkcs11Uri('pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;object=my-key;id=%01%02%FF;type=private?pin-source=file:/run/pin&module-path=/usr/lib/x.so');
  t.equal(u.token, 'The Software PKCS#11 Softtoken');
  t.equal(u.object, 'my-key');
  t.same([...u.id!], [1, 2, 255]);
  t.equal(u.type, 'private');
  t.same(u.query, { 'pin-source': 'file:/run/pin', 'module-path': '/usr/lib/x.so' });
});

t.test('round-trips through format, percent-encoding what pchar does not allow', async (t) => {
  const uri = formatPkcs11Uri({ token: 'line token;1', object: 'issuing-ca', id: Uint8Array.of(0xab, 0x01) });
  t.equal(uri, 'pkcs11:token=line%20token%3B1;object=issuing-ca;id=%AB%01');
  const back = parsePkcs11Uri(uri);
  t.equal(back.token, 'line token;1');
  t.same([...back.id!], [0xab, 0x01]);
  t.equal(formatPkcs11Uri(parsePkcs11Uri('pkcs11:token=keyline-line;object=issuing-ca')), 'pkcs11:token=keyline-line;object=issuing-ca');
});

t.test('refuses malformed URIs and inline PINs', async (t) => {
  t.throws(() => parsePkcs11Uri('file:/x'), { code: 'VALIDATION_FAILED' });
  t.throws(() => parsePkcs11Uri('pkcs11:token'), { code: 'VALIDATION_FAILED' });
  t.throws(() => parsePkcs11Uri('pkcs11:id=%zz'), { code: 'VALIDATION_FAILED' });
  t.throws(() => parsePkcs11Uri('pkcs11:type=banana'), { code: 'VALIDATION_FAILED' });
  t.throws(() => parsePkcs11Uri('pkcs11:token=a?pin-value=1234'), { code: 'VALIDATION_FAILED' });
});
