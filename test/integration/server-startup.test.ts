/**
 * `keyline server` refuses to start, with the guard's code on stderr and a non-zero exit, when
 * the line token holds a root CA key or the configured CA certificate is not the token's key.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDevPki } from '../helpers/pki.js';
import { Pkcs11KeyStore } from '../../server/hsm/pkcs11-key-store.js';
import { createIssuingCa, createRootCa } from '../../server/ca/profiles.js';
import { toPem } from '../../common/pem.js';
import { createSoftSigner } from '../helpers/soft-signer.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'keyline.js');

function serverWith(configPath: string, overrides: Record<string, unknown>) {
  const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
  const file = configPath.replace(/\.json$/, `-${Object.keys(overrides).join('-')}.json`);
  writeFileSync(file, JSON.stringify({ ...cfg, ca: { ...cfg.ca, ...overrides } }));
  return spawnSync(process.execPath, [bin, 'server', '--config', file], { env: { ...process.env, KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0' }, encoding: 'utf8', timeout: 60_000 });
}

t.test('guards at start-up', async (t) => {
  const pki = await makeDevPki(t);
  const keyStore = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin: readFileSync(pki.linePinPath, 'utf8').trim(), sessions: 1 });
  const issuingSpki = await (await keyStore.getSigner(pki.issuingKeyRef)).publicKeySpki();
  // A root CA whose key was generated on the line token, certifying the real issuing key.
  const rogue = await keyStore.getSigner(await keyStore.generateKeyPair({ label: 'rogue-root', curve: 'P-256' }));
  const rogueRoot = await createRootCa({ signer: rogue, org: 'Keyline Dev' });
  const rogueIssuing = await createIssuingCa({ root: { signer: rogue, cert: rogueRoot }, subjectSpki: issuingSpki, org: 'Keyline Dev' });
  // An issuing certificate for another key, from a root kept elsewhere.
  const other = createSoftSigner();
  const otherRoot = await createRootCa({ signer: other, org: 'Elsewhere' });
  const otherIssuing = await createIssuingCa({ root: { signer: other, cert: otherRoot }, subjectSpki: await createSoftSigner().publicKeySpki(), org: 'Elsewhere' });
  await keyStore.close();
  const write = (name: string, c: { rawData: ArrayBuffer }) => {
    const p = join(pki.outDir, name);
    writeFileSync(p, toPem(new Uint8Array(c.rawData)));
    return p;
  };

  const onLine = serverWith(pki.configPath, { rootCert: write('rogue-root.pem', rogueRoot), issuingCert: write('rogue-issuing.pem', rogueIssuing) });
  t.not(onLine.status, 0, 'refused to start');
  t.match(onLine.stderr, /ROOT_KEY_ON_LINE/);
  t.notMatch(onLine.stdout, /^api /m, 'never listened');

  const mismatch = serverWith(pki.configPath, { issuingCert: write('other-issuing.pem', otherIssuing) });
  t.not(mismatch.status, 0);
  t.match(mismatch.stderr, /CA_KEY_MISMATCH/);

  const chain = serverWith(pki.configPath, { rootCert: write('other-root.pem', otherRoot) });
  t.not(chain.status, 0);
  t.match(chain.stderr, /CHAIN_INVALID/);
});
