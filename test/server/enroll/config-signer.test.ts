import t from 'tap';
import { HsmError } from '../../../common/errors.js';
import * as x509 from '../../../common/x509.js';
import { canonicalConfigBytes } from '../../../common/protocol/enrollment.js';
import { createIssuingCa, createRootCa } from '../../../server/ca/profiles.js';
import { configSignatureValid, ensureConfigSigner } from '../../../server/enroll/config-signer.js';
import type { KeyStore, Signer } from '../../../server/hsm/key-store.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

/** A KeyStore over soft signers, counting generations. */
function fakeKeyStore(): KeyStore & { keys: Map<string, Signer>; generated: number } {
  const keys = new Map<string, Signer>();
  const ks = {
    keys, generated: 0, hardware: false,
    async listPrivateKeys() {
      return [];
    },
    async getSigner(ref: string) {
      const s = keys.get(ref);
      if (!s) throw new HsmError('HSM_KEY_NOT_FOUND', `no key ${ref}`);
      return s;
    },
    async generateKeyPair(req: { label: string }) {
      ks.generated++;
      const ref = `pkcs11:token=line;object=${req.label}`;
      keys.set(ref, createSoftSigner(undefined, ref));
      return ref;
    },
    async close() {},
  };
  return ks;
}

t.test('config signer: created once, reused, certificate from the issuing CA, signatures cached per document', async (t) => {
  const rs = createSoftSigner();
  const root = await createRootCa({ signer: rs, org: 'Keyline Test' });
  const is = createSoftSigner();
  const issuing = await createIssuingCa({ root: { signer: rs, cert: root }, subjectSpki: await is.publicKeySpki(), org: 'Keyline Test' });
  const ks = fakeKeyStore();
  const base = { keyStore: ks, tokenLabel: 'line', label: 'config-signer', issuer: { signer: is, cert: issuing }, org: 'Keyline Test' };

  // A worker that may not create the key waits for the one that does.
  const waiting = ensureConfigSigner({ ...base, mayGenerate: false, waitMs: 5000 });
  const first = await ensureConfigSigner(base);
  const second = await waiting;
  t.equal(ks.generated, 1, 'one key generated');
  const spki = (der: Uint8Array) => Buffer.from(new x509.X509Certificate(der.slice().buffer as ArrayBuffer).publicKey.rawData).toString('hex');
  t.equal(spki(first.certificateDer), spki(second.certificateDer));
  const cert = new x509.X509Certificate(first.certificateDer.slice().buffer as ArrayBuffer);
  t.ok(await cert.verify({ publicKey: issuing.publicKey }), 'issued by the issuing CA');
  t.match(cert.subject, /OU=config-signer/);
  t.notOk(cert.getExtension(x509.ExtendedKeyUsageExtension), 'no EKU: never a TLS identity');

  const config = { b: [1, 2], a: 'x' };
  const sig = await first.sign(config);
  t.equal(Buffer.from(await first.sign({ a: 'x', b: [1, 2] })).toString('hex'), Buffer.from(sig).toString('hex'), 'same document, same cached signature');
  const signerSpki = new Uint8Array(cert.publicKey.rawData);
  t.ok(configSignatureValid(config, sig, signerSpki));
  t.notOk(configSignatureValid({ ...config, a: 'y' }, sig, signerSpki), 'tampered document refused');
  t.ok(canonicalConfigBytes(config).length > 0);

  await t.rejects(ensureConfigSigner({ ...base, label: 'absent', mayGenerate: false, waitMs: 100 }), { code: 'HSM_KEY_NOT_FOUND' });
});

t.test('replicas starting together: generation runs exclusively, so one key is made', async (t) => {
  const rs = createSoftSigner();
  const root = await createRootCa({ signer: rs, org: 'Keyline Test' });
  const is = createSoftSigner();
  const issuing = await createIssuingCa({ root: { signer: rs, cert: root }, subjectSpki: await is.publicKeySpki(), org: 'Keyline Test' });
  const base = { tokenLabel: 'line', label: 'config-signer', issuer: { signer: is, cert: issuing }, org: 'Keyline Test' };
  // Without coordination both see no key and both generate (two keys under one label).
  const racing = fakeKeyStore();
  await Promise.all([ensureConfigSigner({ ...base, keyStore: racing }), ensureConfigSigner({ ...base, keyStore: racing })]);
  t.equal(racing.generated, 2, 'the race the lease prevents');
  // With `exclusive` (a database lease in start-enrollment.ts; a promise chain here) the second looks again first.
  const ks = fakeKeyStore();
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  };
  await Promise.all([ensureConfigSigner({ ...base, keyStore: ks, exclusive }), ensureConfigSigner({ ...base, keyStore: ks, exclusive })]);
  t.equal(ks.generated, 1, 'one key generated');
});
