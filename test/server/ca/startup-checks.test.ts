import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import pkcs11js from 'pkcs11js';
import { checkCaAtStartup } from '../../../server/ca/startup-checks.js';
import { createIssuingCa, createRootCa } from '../../../server/ca/profiles.js';
import { CURVES } from '../../../server/hsm/ec-key-info.js';
import type { KeyStore } from '../../../server/hsm/key-store.js';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';
import { makeDevPki } from '../../helpers/pki.js';

const der = (c: { rawData: ArrayBuffer }) => new Uint8Array(c.rawData);

async function setup(t: Test) {
  const pki = await makeDevPki(t);
  const keyStore = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin: readFileSync(pki.linePinPath, 'utf8').trim(), sessions: 1 });
  t.teardown(() => keyStore.close());
  const issuingSpki = await (await keyStore.getSigner(pki.issuingKeyRef)).publicKeySpki();
  const input = { keyStore, issuingKeyRef: pki.issuingKeyRef, rootDer: pki.rootDer, issuingDer: pki.issuingDer };
  return { pki, keyStore, issuingSpki, input };
}

/** A software root (as if made elsewhere) that certifies the real issuing key. */
async function foreignRoot(issuingSpki: Uint8Array) {
  const signer = createSoftSigner();
  const root = await createRootCa({ signer, org: 'Keyline Dev' });
  const issuing = await createIssuingCa({ root: { signer, cert: root }, subjectSpki: issuingSpki, org: 'Keyline Dev' });
  return { signer, rootDer: der(root), issuingDer: der(issuing) };
}

t.test('the dev PKI passes every guard', async (t) => {
  const { input } = await setup(t);
  const { signer, root, issuing } = await checkCaAtStartup(input);
  t.equal(signer.keyRef, input.issuingKeyRef);
  t.match(root.subject, /Root CA/);
  t.match(issuing.subject, /Issuing CA/);
});

t.test('CA_KEY_NOT_IN_HSM: not a pkcs11 URI, key missing, or not a token', async (t) => {
  const { input } = await setup(t);
  await t.rejects(checkCaAtStartup({ ...input, issuingKeyRef: 'file:issuing.key.pem' }), { code: 'CA_KEY_NOT_IN_HSM' });
  await t.rejects(checkCaAtStartup({ ...input, issuingKeyRef: 'pkcs11:token=keyline-line;object=nope' }), { code: 'CA_KEY_NOT_IN_HSM' });
  const soft = createSoftSigner(undefined, input.issuingKeyRef);
  const softStore: KeyStore = { hardware: false, getSigner: async () => soft, generateKeyPair: async () => '', listPrivateKeys: async () => [], close: async () => {} };
  await t.rejects(checkCaAtStartup({ ...input, keyStore: softStore }), { code: 'CA_KEY_NOT_IN_HSM' });
});

t.test('ROOT_KEY_ON_LINE: the root private key copied onto the line token (no public object)', async (t) => {
  const { keyStore, issuingSpki, input } = await setup(t);
  const f = await foreignRoot(issuingSpki);
  const d = Buffer.from(f.signer.privateKey.export({ format: 'jwk' }).d!, 'base64url');
  await keyStore.pool.run('import root key', (session) =>
    keyStore.pool.p11.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true }, { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_LABEL, value: 'harmless-looking' }, { type: pkcs11js.CKA_ID, value: Buffer.from('0707', 'hex') },
      { type: pkcs11js.CKA_EC_PARAMS, value: CURVES['P-256'].params }, { type: pkcs11js.CKA_VALUE, value: d },
    ]),
  );
  await t.rejects(checkCaAtStartup({ ...input, rootDer: f.rootDer, issuingDer: f.issuingDer }), { code: 'ROOT_KEY_ON_LINE', detail: { label: 'harmless-looking' } });
});

t.test('ROOT_KEY_ON_LINE: a self-signed CA made with a line-token key', async (t) => {
  const { keyStore, issuingSpki, input } = await setup(t);
  const rogue = await keyStore.getSigner(await keyStore.generateKeyPair({ label: 'rogue-root', curve: 'P-256' }));
  const root = await createRootCa({ signer: rogue, org: 'Keyline Dev' });
  const issuing = await createIssuingCa({ root: { signer: rogue, cert: root }, subjectSpki: issuingSpki, org: 'Keyline Dev' });
  await t.rejects(checkCaAtStartup({ ...input, rootDer: der(root), issuingDer: der(issuing) }), { code: 'ROOT_KEY_ON_LINE', detail: { label: 'rogue-root' } });
  // Also when that self-signed certificate is not the configured root but known to the server.
  await t.rejects(checkCaAtStartup({ ...input, otherSelfSigned: [der(root)] }), { code: 'ROOT_KEY_ON_LINE' });
});

t.test('CA_KEY_USAGE (issue 11): an issuing key that may derive or decrypt is refused', async (t) => {
  const { keyStore, input } = await setup(t);
  const [issuing] = (await keyStore.listPrivateKeys()).filter((k) => k.label === 'issuing-ca');
  t.match(issuing?.usage, { sign: true, decrypt: false, unwrap: false, derive: false, extractable: false, sensitive: true });
  // As if someone recreated the key with another tool's defaults (or changed it with pkcs11-tool).
  await keyStore.pool.run('loosen', (session) => {
    const p11 = keyStore.pool.p11;
    p11.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: 'issuing-ca' }]);
    const [h] = p11.C_FindObjects(session, 1);
    p11.C_FindObjectsFinal(session);
    p11.C_SetAttributeValue(session, h!, [{ type: pkcs11js.CKA_DERIVE, value: true }]);
  });
  await t.rejects(checkCaAtStartup(input), { code: 'CA_KEY_USAGE', message: /may derive/ });
});

t.test('CA_KEY_MISMATCH: an issuing certificate for another key', async (t) => {
  const { input } = await setup(t);
  const other = await foreignRoot(await createSoftSigner().publicKeySpki());
  await t.rejects(checkCaAtStartup({ ...input, issuingDer: other.issuingDer }), { code: 'CA_KEY_MISMATCH' });
});

t.test('CHAIN_INVALID: the issuing certificate chains to another root', async (t) => {
  const { issuingSpki, input } = await setup(t);
  const f = await foreignRoot(issuingSpki);
  await t.rejects(checkCaAtStartup({ ...input, issuingDer: f.issuingDer }), { code: 'CHAIN_INVALID' });
});
