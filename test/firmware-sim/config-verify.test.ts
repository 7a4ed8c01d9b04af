import t from 'tap';
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { canonicalConfigBytes } from '../../common/protocol/enrollment.js';
import { createIssuingCa, createRootCa, createClientCert, type Issuer } from '../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../server/ca/software-key.js';
import { verifyConfiguration } from '../../firmware-sim/config-verify.js';
import { createSoftSigner } from '../helpers/soft-signer.js';

async function pki(org: string) {
  const rootSigner = createSoftSigner(undefined, `soft:${org}-root`);
  const root = await createRootCa({ signer: rootSigner, org });
  const issuingSigner = createSoftSigner(undefined, `soft:${org}-issuing`);
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await issuingSigner.publicKeySpki(), org });
  const node = (c: { rawData: ArrayBuffer }) => new X509Certificate(Buffer.from(c.rawData));
  return { chain: { signer: node(issuing), root: node(root) }, issuer: { signer: issuingSigner, cert: issuing } as Issuer };
}

async function signed(issuer: Issuer, config: Record<string, unknown>, opts: { now?: Date; years?: number } = {}) {
  const key = generateSoftwareKey();
  const cert = await createClientCert({ issuer, stationId: 'config-signer', org: 'Test', spki: key.spki, ...opts });
  return {
    config,
    configSignature: sign('sha256', canonicalConfigBytes(config), createPrivateKey(key.privateKeyPem)).toString('base64'),
    configSignerCertificate: Buffer.from(cert.rawData).toString('base64'),
  };
}

t.test('a configuration signed by a certificate from the pinned chain verifies; key order does not matter', async (t) => {
  const { chain, issuer } = await pki('Good');
  const msg = await signed(issuer, { b: 1, a: { z: [1, 'x'], y: null } });
  t.match(verifyConfiguration(msg, chain).subject, /config-signer/);
  t.ok(verifyConfiguration({ ...msg, config: { a: { y: null, z: [1, 'x'] }, b: 1 } }, chain), 'canonical JSON: same bytes');
});

t.test('tampering, a foreign chain, a CA signer and an expired signer are refused', async (t) => {
  const { chain, issuer } = await pki('Good2');
  const msg = await signed(issuer, { interval: 60 });
  t.throws(() => verifyConfiguration({ ...msg, config: { interval: 1 } }, chain), { code: 'CONFIG_SIGNATURE_INVALID' }, 'value changed');
  t.throws(() => verifyConfiguration({ ...msg, config: { interval: 60, extra: true } }, chain), { code: 'CONFIG_SIGNATURE_INVALID' }, 'key added');
  t.throws(() => verifyConfiguration({ ...msg, configSignature: Buffer.from('not a signature').toString('base64') }, chain), { code: 'CONFIG_SIGNATURE_INVALID' });
  const other = await pki('Evil');
  const foreign = await signed(other.issuer, { interval: 60 });
  t.throws(() => verifyConfiguration(foreign, chain), { code: 'CONFIG_SIGNATURE_INVALID' }, 'signer from another PKI');
  // The issuing CA's own certificate as "config signer": a CA is not an end entity.
  const caMsg = { ...msg, configSignerCertificate: Buffer.from(issuer.cert.rawData).toString('base64') };
  t.throws(() => verifyConfiguration(caMsg, chain), { code: 'CONFIG_SIGNATURE_INVALID' });
  const old = await signed(issuer, { interval: 60 }, { now: new Date('2020-01-01T00:00:00Z'), years: 1 });
  t.throws(() => verifyConfiguration(old, chain), { code: 'CONFIG_SIGNATURE_INVALID' }, 'expired signer');
  t.throws(() => verifyConfiguration({ ...msg, configSignerCertificate: 'AAAA' }, chain), { code: 'CONFIG_SIGNATURE_INVALID' }, 'not DER');
});
