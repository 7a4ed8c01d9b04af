/**
 * Set-up shared by the AWS IoT registry tests: a dev PKI (issuing CA key in SoftHSM), units with
 * real device certificates issued through the real pipeline into a SQLite file, a fake AWS IoT,
 * and a registry context pointing the real SDK at it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { Test } from 'tap';
import { toPem } from '../../../common/pem.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import type { Signer } from '../../../server/hsm/key-store.js';
import { type AwsIotRegistryConfig, awsIotRegistryConfig } from '../../../server/registry/aws-iot-config.js';
import type { RegistrySetupContext } from '../../../server/registry/registry-kind.js';
import { createIssuePipeline } from '../../../server/services/issue-units.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { UnitRecord } from '../../../server/store/store.js';
import { makeDevPki, type TestPki } from '../../helpers/pki.js';
import { chipSerial, p256Key } from '../services/helpers.js';
import { type FakeAwsIot, type FakeAwsIotOptions, startFakeAwsIot } from './fake-aws-iot.js';

/** Everything an AWS registry test needs. */
export interface AwsFixture {
  pki: TestPki;
  store: SqliteStore;
  fake: FakeAwsIot;
  signer: Signer;
  ctx: RegistrySetupContext;
  /** A config section for the fake (overrides applied, then parsed with the real schema). */
  config(over?: Record<string, unknown>): AwsIotRegistryConfig;
  /** Issues `n` units on WO-1 and returns their records. */
  units(n: number): Promise<UnitRecord[]>;
}

/** Builds the fixture; everything is closed at teardown. */
export async function awsFixture(t: Test, opts: { registries?: string[]; fake?: FakeAwsIotOptions } = {}): Promise<AwsFixture> {
  const pki = await makeDevPki(t);
  const ks = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin: readFileSync(pki.linePinPath, 'utf8').trim(), sessions: 1 });
  t.teardown(() => ks.close());
  const signer = await ks.getSigner(pki.issuingKeyRef);
  const fake = await startFakeAwsIot({ policies: ['keyline-device'], thingGroups: ['line-1'], thingTypes: ['sensor'], ...opts.fake });
  t.teardown(() => fake.close());
  // t.testdir() again would wipe the PKI: the database goes beside it.
  const store = new SqliteStore(join(pki.outDir, 'aws-test.db'));
  t.teardown(() => store.close());
  await store.transaction((tx) => tx.workOrders.create({
    id: 'WO-1', product: 'Sensor', quota: 1000, stations: null, createdAt: '2026-01-01T00:00:00.000Z', registries: opts.registries ?? ['aws'],
  }));
  const issuer = createTemplateDeviceIssuer({ signer, issuingCaDer: pki.issuingDer, validityYears: 10 });
  const issueUnits = createIssuePipeline({ store, issuer, now: () => new Date(), log: pino({ level: 'silent' }) });
  const env: Record<string, string> = { AWS_TEST_KEY_ID: fake.credentials.accessKeyId, AWS_TEST_SECRET: fake.credentials.secretAccessKey };
  const ctx: RegistrySetupContext = {
    secret: (ref) => ('env' in ref ? env[ref.env]! : readFileSync(ref.file, 'utf8').trim()),
    issuingCaPem: toPem(pki.issuingDer),
    issuingCaPemFor: () => toPem(pki.issuingDer),
    log: pino({ level: 'silent' }),
    issuingSigner: signer,
    issuingCaDer: pki.issuingDer,
    progress: () => {},
  };
  return {
    pki, store, fake, signer, ctx,
    config: (over = {}) => awsIotRegistryConfig.parse({
      type: 'aws-iot', region: fake.region, endpoint: fake.url, requestTimeoutMs: 1_000,
      credentials: { accessKeyId: { env: 'AWS_TEST_KEY_ID' }, secretAccessKey: { env: 'AWS_TEST_SECRET' } }, ...over,
    }),
    async units(n) {
      const outcomes = await issueUnits(Array.from({ length: n }, () => ({ serial: chipSerial(), publicKey: p256Key().raw, workOrder: 'WO-1', idempotencyKey: null })), 'station-1');
      return Promise.all(outcomes.map(async (o) => {
        if (!o.ok) throw new Error(`issue failed: ${JSON.stringify(o)}`);
        return (await store.transaction((tx) => tx.units.getBySerial(o.value.serial)))!;
      }));
    },
  };
}
