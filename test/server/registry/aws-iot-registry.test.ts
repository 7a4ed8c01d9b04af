/**
 * The AWS IoT registry runs the Registry contract suite in each of its modes, built by its kind
 * as the server builds it, through the real @aws-sdk/client-iot against the fake control plane:
 * 'multi-account' and 'registered-ca' register each unit; 'jitp' awaits the device's first
 * connection, which the fake provisions from the template `registry setup` registered.
 * What AWS holds for a unit is its certificate's status (and, when active, the thing holding it).
 */
import t, { type Test } from 'tap';
import { silentLogger } from '../../../common/log.js';
import { toPem } from '../../../common/pem.js';
import { awsIotRegistryConfig } from '../../../server/registry/aws-iot-config.js';
import { awsIotKind } from '../../../server/registry/aws-iot-kind.js';
import { awsCertificateId } from '../../../server/registry/aws-iot-registry.js';
import type { RegistrySetupContext } from '../../../server/registry/registry-kind.js';
import type { UnitRecord } from '../../../server/store/store.js';
import { startFakeAwsIot } from './fake-aws-iot.js';
import { registryBase } from './registry-fixture.js';
import { type Held, type RegistryCapabilities, type RegistryFixture, registrySuite } from './registry.suite.js';

const PREFIX = 'kl-';
const FAULTS = { withdraws: true, throttled: true, unavailable: true, hang: true, rejected: true } as const;

/** A fixture for an 'aws-iot' section in `mode` (with `extra` fields), over a fresh fake. */
async function awsFixture(t: Test, mode: 'multi-account' | 'registered-ca' | 'jitp', extra: Record<string, unknown>): Promise<RegistryFixture> {
  const base = await registryBase(t, 'aws');
  const fake = await startFakeAwsIot({ policies: ['keyline-device'], thingGroups: ['line-1'], thingTypes: ['sensor'], retryAfterSeconds: 1 });
  t.teardown(() => fake.close());
  const env: Record<string, string> = { AWS_TEST_KEY_ID: fake.credentials.accessKeyId, AWS_TEST_SECRET: fake.credentials.secretAccessKey };
  const ctx: RegistrySetupContext = {
    secret: (ref) => ('env' in ref ? env[ref.env]! : ''),
    issuingCaPem: base.pki.issuingPem, issuingCaPemFor: () => base.pki.issuingPem, issuingCaDer: base.pki.issuingDer, issuingSigner: base.pki.signer,
    log: silentLogger, progress: () => undefined,
  };
  const cfg = awsIotRegistryConfig.parse({
    type: 'aws-iot', region: fake.region, endpoint: fake.url, mode, thingNamePrefix: PREFIX, requestTimeoutMs: 1_000,
    credentials: { accessKeyId: { env: 'AWS_TEST_KEY_ID' }, secretAccessKey: { env: 'AWS_TEST_SECRET' } }, ...extra,
  });
  if (mode === 'registered-ca') {
    // The issuing CA as an operator registered it in the account (the fake only needs to know it).
    const id = awsCertificateId(base.pki.issuingDer);
    fake.state.cas.set(id, { id, arn: `arn:aws:iot:${fake.region}:123456789012:cacert/${id}`, pem: base.pki.issuingPem, verificationPem: '', status: 'ACTIVE', autoRegistration: 'DISABLE' });
  }
  if (mode === 'jitp') await awsIotKind.setup!('aws', cfg, ctx);

  const externalIdOf = (u: UnitRecord): string => PREFIX + u.serial;
  return {
    registry: awsIotKind.create('aws', cfg, ctx),
    store: base.store,
    units: base.units,
    externalIdOf,
    async held(u): Promise<Held> {
      const cert = fake.state.certificates.get(awsCertificateId(u.certificateDer));
      if (!cert) return 'absent';
      if (cert.status === 'REVOKED' || cert.status === 'INACTIVE') return 'withdrawn';
      // Active means usable: the certificate ACTIVE and attached to the unit's thing.
      if (cert.status === 'ACTIVE' && fake.state.things.get(externalIdOf(u))?.principals.has(cert.arn)) return 'active';
      throw new Error(`unit ${u.serial}: certificate ${cert.status}, thing ${fake.state.things.has(externalIdOf(u)) ? 'without it' : 'absent'}: a partial registration`);
    },
    count: async () => fake.state.certificates.size,
    connect: async (u) => fake.connect(toPem(u.certificateDer)).ok,
    faults: {
      throttleNext: () => fake.failNext('throttle', 1),
      unavailableNext: () => fake.failNext('unavailable', 1),
      rejectNext: () => fake.failNext('reject', 1),
      hangNext: () => fake.failNext('hang', 1),
    },
    violations: () => fake.state.violations,
  };
}

const perUnit = (mode: string): RegistryCapabilities => ({
  awaitingConnection: { skip: `'${mode}' mode registers each unit's certificate and thing at once` },
  ...FAULTS,
});

t.test("mode 'multi-account'", async (t) => {
  registrySuite(t, {
    capabilities: perUnit('multi-account'),
    open: (t) => awsFixture(t, 'multi-account', { policyName: 'keyline-device', thingGroup: 'line-1' }),
  });
});

t.test("mode 'registered-ca'", async (t) => {
  registrySuite(t, {
    capabilities: perUnit('registered-ca'),
    open: (t) => awsFixture(t, 'registered-ca', { thingTypeName: 'sensor' }),
  });
});

t.test("mode 'jitp'", async (t) => {
  registrySuite(t, {
    capabilities: { awaitingConnection: true, ...FAULTS },
    open: (t) => awsFixture(t, 'jitp', { policyName: 'keyline-device', thingGroup: 'line-1', jitp: { roleArn: 'arn:aws:iam::123456789012:role/keyline-jitp' } }),
  });
});
