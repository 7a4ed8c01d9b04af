/**
 * The template issuer with the issuing key in a SoftHSM token (the server's real path): the
 * certificate verifies with OpenSSL and round-trips through the 72-byte compressed form.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { compressWithAny, deviceCertDefs, rebuildCertificate, selectCertDef, signerCertDef, compressCertificate } from '../../../secure-element/atcacert/index.js';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { makeTestPki, toPem } from '../../secure-element/atcacert/ca-fixture.js';
import { makeTokens } from '../hsm/token-fixture.js';

t.test('SoftHSM-signed device certificates verify and round-trip', async (t) => {
  const tokens = makeTokens(t, ['line']);
  const store = Pkcs11KeyStore.open({ softhsmConf: tokens.conf, tokenLabel: 'line', pin: tokens.pin });
  t.teardown(() => store.close());
  const signer = await store.getSigner(await store.generateKeyPair({ label: 'issuing-ca', curve: 'P-256' }));
  const pki = await makeTestPki({ issuingSpki: await signer.publicKeySpki() });
  const dir = dirname(tokens.conf); // t.testdir() again would wipe the tokens
  writeFileSync(join(dir, 'root.pem'), pki.rootPem);
  writeFileSync(join(dir, 'issuing.pem'), pki.issuingPem);
  const opts = { issuingCaDer: pki.issuingDer, crlUrl: 'http://pki.example.test/crl', ocspUrl: 'http://pki.example.test/ocsp' };
  const issuerPublicKey = (await signer.publicKeySpki()).subarray(-64);
  const files: string[] = [];
  for (const validityYears of [0, 1, 10]) {
    const issuer = createTemplateDeviceIssuer({ signer, validityYears, ...opts });
    const defs = deviceCertDefs({ ...opts, product: 'Widget', validityYears });
    for (let i = 0; i < 20; i++) {
      const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
      const publicKey = new Uint8Array(spki.subarray(spki.length - 64));
      const chipSerial = Uint8Array.from([0x01, 0x23, i, validityYears, 0x55, 0x66, 0x77, 0x88, 0xee]);
      const cert = await issuer.issue({ chipSerial, publicKey, product: 'Widget', issuedAt: new Date() });
      const { compressed } = compressWithAny(defs, cert.der);
      const rebuilt = rebuildCertificate(selectCertDef(defs, compressed), { publicKey, compressed, chipSerial, issuerPublicKey });
      t.ok(Buffer.from(rebuilt).equals(Buffer.from(cert.der)), `validity ${validityYears} #${i} bit-exact`);
      if (i < 2) {
        files.push(join(dir, `dev-${validityYears}-${i}.pem`));
        writeFileSync(files.at(-1)!, toPem(rebuilt));
      }
    }
  }
  const out = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), ...files], { encoding: 'utf8' });
  t.equal(out.trim().split('\n').filter((l) => l.endsWith(': OK')).length, files.length, 'openssl verify OK');
  const sdef = signerCertDef(pki.issuingDer);
  const scomp = compressCertificate(sdef, pki.issuingDer);
  t.ok(Buffer.from(rebuildCertificate(sdef, { publicKey: issuerPublicKey, compressed: scomp })).equals(Buffer.from(pki.issuingDer)), 'signer certificate round trip');
});
