/**
 * A dev PKI after an issuing CA rotation (issue 19), for the `registry setup` tests: the second CA
 * made by the ceremony steps an operator runs (`ceremony csr --next`, `sign-csr`), and keyline.json
 * listing both, with `registries` sections written per test.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { fromPem } from '../../../common/pem.js';
import { caKeyId } from '../../../server/ca/key-id.js';
import { runKeyline } from '../../helpers/keyline-cli.js';
import { makeDevPki, type TestPki } from '../../helpers/pki.js';

/** The PKI, both CAs and a writer of keyline.json. */
export interface RotationPki {
  pki: TestPki;
  ca1Der: Uint8Array;
  ca2Der: Uint8Array;
  /** Key ids of the first and the second CA. */
  ca1: string;
  ca2: string;
  /** Writes keyline.json listing both CAs, with `registries` (and `ca` fields changed). */
  writeRegistries(registries: Record<string, unknown>, ca?: Record<string, unknown>): void;
  /** `keyline ceremony revoke-issuing` of the first CA (keyCompromise): the root CRL in pki.outDir/root-ca.crl. */
  revokeFirst(): Promise<void>;
}

/** Makes the dev PKI and the second issuing CA. */
export async function makeRotationPki(t: Test): Promise<RotationPki> {
  const pki = await makeDevPki(t);
  const dir = pki.outDir;
  const csr = await runKeyline(['ceremony', 'csr', '--next', '--config', pki.configPath, '--out', join(dir, 'next.csr'), '--json']);
  if (csr.code !== 0) throw new Error(csr.out);
  const { issuingEntry } = JSON.parse(csr.stdout) as { issuingEntry: { cert: string; key: string; crlUrl: string } };
  const signed = await runKeyline(['ceremony', 'sign-csr', '--csr', join(dir, 'next.csr'), '--root-cert', pki.rootCertPath, '--root-key', 'pkcs11:token=keyline-root;object=root-ca',
    '--pin-file', pki.rootPinPath, '--softhsm-conf', pki.softhsmConf, '--crl-url', 'http://127.0.0.1:8080/crl/root.crl', '--out', join(dir, issuingEntry.cert)]);
  if (signed.code !== 0) throw new Error(signed.out);
  const ca1Der = pki.issuingDer;
  const ca2Der = fromPem(readFileSync(join(dir, issuingEntry.cert), 'utf8'));
  const base = JSON.parse(readFileSync(pki.configPath, 'utf8'));
  base.ca.issuing = [{ cert: 'issuing-ca.pem', key: base.hsm.issuingKey, ocspResponderKey: base.ca.ocspResponderKey, ocspResponderCert: base.ca.ocspResponderCert }, issuingEntry];
  return {
    pki, ca1Der, ca2Der, ca1: caKeyId(ca1Der), ca2: caKeyId(ca2Der),
    writeRegistries(registries, ca = {}) {
      writeFileSync(pki.configPath, JSON.stringify({ ...base, ca: { ...base.ca, ...ca }, registries }, null, 2));
    },
    async revokeFirst() {
      const r = await runKeyline(['ceremony', 'revoke-issuing', '--cert', pki.issuingCertPath, '--reason', 'keyCompromise', '--token', 'keyline-root', '--pin-file', pki.rootPinPath,
        '--softhsm-conf', pki.softhsmConf, '--out', dir, '--witness', 'Alice', '--witness', 'Bob']);
      if (r.code !== 0) throw new Error(r.out);
    },
  };
}
