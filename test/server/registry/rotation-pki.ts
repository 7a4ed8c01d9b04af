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
import { loadConfigWithoutSecrets } from '../../../server/config.js';
import { openStore } from '../../../server/store/open-store.js';
import type { AuditRecord } from '../../../server/store/store.js';
import { runKeyline } from '../../helpers/keyline-cli.js';
import { makeDevPki, type TestPki } from '../../helpers/pki.js';
import { startFakeAwsIot, type FakeAwsIot } from './fake-aws-iot.js';
import { startFakeAzureDps, type FakeDps } from './fake-azure-dps.js';

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
  /**
   * A fresh fake DPS for this test and keyline.json's 'azure' section on it: an enrollment group
   * 'keyline-line' (`extra` merged in), its connection string in TEST_DPS_CONNECTION.
   */
  azureGroup(t: Test, extra?: Record<string, unknown>): Promise<FakeDps>;
  /** A fresh fake AWS IoT for this test and keyline.json's 'aws' JITP section on it (`ca` fields changed). */
  awsJitp(t: Test, ca?: Record<string, unknown>): Promise<FakeAwsIot>;
  /** The audit log's records of `action`, their detail parsed. */
  audited(action: string): Promise<AuditedRecord[]>;
}

/** An audit record with its detail parsed. */
export type AuditedRecord = Omit<AuditRecord, 'detail'> & { detail: Record<string, unknown> };

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
  const writeRegistries = (registries: Record<string, unknown>, ca: Record<string, unknown> = {}): void => {
    writeFileSync(pki.configPath, JSON.stringify({ ...base, ca: { ...base.ca, ...ca }, registries }, null, 2));
  };
  return {
    pki, ca1Der, ca2Der, ca1: caKeyId(ca1Der), ca2: caKeyId(ca2Der), writeRegistries,
    async azureGroup(t, extra = {}) {
      const fake = await startFakeAzureDps({ dir: t.testdir() });
      t.teardown(() => fake.close());
      process.env.TEST_DPS_CONNECTION = fake.connectionString;
      t.teardown(() => { delete process.env.TEST_DPS_CONNECTION; });
      writeRegistries({
        azure: {
          type: 'azure-dps', connectionString: { env: 'TEST_DPS_CONNECTION' }, endpoint: { host: fake.host, port: fake.port, ca: fake.caPath },
          mode: 'enrollment-group', enrollmentGroupId: 'keyline-line', ...extra,
        },
      });
      return fake;
    },
    async awsJitp(t, ca = {}) {
      const fake = await startFakeAwsIot();
      t.teardown(() => fake.close());
      process.env.TEST_AWS_KEY_ID = fake.credentials.accessKeyId;
      process.env.TEST_AWS_SECRET = fake.credentials.secretAccessKey;
      t.teardown(() => { delete process.env.TEST_AWS_KEY_ID; delete process.env.TEST_AWS_SECRET; });
      writeRegistries({
        aws: {
          type: 'aws-iot', region: fake.region, endpoint: fake.url, mode: 'jitp',
          credentials: { accessKeyId: { env: 'TEST_AWS_KEY_ID' }, secretAccessKey: { env: 'TEST_AWS_SECRET' } },
          jitp: { roleArn: 'arn:aws:iam::123456789012:role/keyline-jitp' },
        },
      }, ca);
      return fake;
    },
    async audited(action) {
      const store = await openStore(loadConfigWithoutSecrets(pki.configPath).store.url);
      try {
        const all = await store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 10_000 }), { readOnly: true });
        return all.filter((r) => r.action === action).map((r) => ({ ...r, detail: JSON.parse(r.detail ?? '{}') as Record<string, unknown> }));
      } finally {
        await store.close();
      }
    },
    async revokeFirst() {
      const r = await runKeyline(['ceremony', 'revoke-issuing', '--cert', pki.issuingCertPath, '--reason', 'keyCompromise', '--token', 'keyline-root', '--pin-file', pki.rootPinPath,
        '--softhsm-conf', pki.softhsmConf, '--out', dir, '--witness', 'Alice', '--witness', 'Bob']);
      if (r.code !== 0) throw new Error(r.out);
    },
  };
}
