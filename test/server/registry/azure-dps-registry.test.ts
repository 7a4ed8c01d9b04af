/**
 * The Azure DPS registry runs the Registry contract suite in both its modes, built by its kind as
 * the server builds it, through the official azure-iot-provisioning-service client against the
 * fake DPS: 'individual' writes each unit's enrollment; 'enrollment-group' awaits the device's
 * first connection through the group `registry setup` wrote on the issuing CA. What DPS holds for
 * a unit is its individual enrollment (enabled or disabled), else its device registration state.
 */
import t, { type Test } from 'tap';
import { silentLogger } from '../../../common/log.js';
import { azureDpsKind } from '../../../server/registry/azure-dps-kind.js';
import { toPem } from '../../../server/registry/azure-dps-registry.js';
import type { RegistrySetupContext } from '../../../server/registry/registry-kind.js';
import type { UnitRecord } from '../../../server/store/store.js';
import { fakeDpsConfig, fakeDpsContext, startFakeAzureDps } from './fake-azure-dps.js';
import { registryBase } from './registry-fixture.js';
import { type Held, type RegistryFixture, registrySuite } from './registry.suite.js';

const FAULTS = { withdraws: true, throttled: true, unavailable: true, hang: true, rejected: true } as const;

/** A fixture for an 'azure-dps' section in `mode`, over a fresh fake. */
async function dpsFixture(t: Test, mode: 'individual' | 'enrollment-group'): Promise<RegistryFixture> {
  const base = await registryBase(t, 'azure-eu');
  const fake = await startFakeAzureDps({ dir: base.dir });
  t.teardown(() => fake.close());
  const cfg = fakeDpsConfig(fake, { mode, timeoutMs: 1_000 });
  const ctx = fakeDpsContext(fake, base.pki.issuingPem, silentLogger);
  if (mode === 'enrollment-group') {
    const setup: RegistrySetupContext = { ...ctx, issuingSigner: base.pki.signer, issuingCaDer: base.pki.issuingDer, progress: () => undefined };
    await azureDpsKind.setup!('azure-eu', cfg, setup);
  }
  const id = (u: UnitRecord): string => u.serial.toLowerCase(); // DPS ids are case-insensitive
  return {
    registry: azureDpsKind.create('azure-eu', cfg, ctx),
    store: base.store,
    units: base.units,
    externalIdOf: (u) => u.serial,
    async held(u): Promise<Held> {
      // An individual enrollment decides alone (it takes precedence over any group).
      const e = fake.state.enrollments.get(id(u));
      if (e) {
        if (e.pem.replace(/\s+/g, '') !== toPem(u.certificateDer).replace(/\s+/g, '')) throw new Error(`enrollment ${u.serial} holds another certificate`);
        return e.body.provisioningStatus === 'disabled' ? 'withdrawn' : 'active';
      }
      return fake.state.registrations.get(id(u))?.status === 'assigned' ? 'active' : 'absent';
    },
    count: async () => (mode === 'individual'
      ? fake.state.enrollments.size
      : [...fake.state.registrations.values()].filter((r) => r.status === 'assigned').length),
    connect: async (u) => fake.deviceConnects(toPem(u.certificateDer)).status === 'assigned',
    faults: {
      throttleNext: () => fake.failNext(429, 1, 1),
      unavailableNext: () => fake.failNext(503),
      rejectNext: () => fake.failNext(400),
      hangNext: () => fake.failNext('hang'),
    },
    violations: () => fake.violations,
  };
}

t.test("mode 'individual'", async (t) => {
  registrySuite(t, {
    capabilities: { awaitingConnection: { skip: "'individual' mode writes each unit's enrollment at once" }, ...FAULTS },
    open: (t) => dpsFixture(t, 'individual'),
  });
});

t.test("mode 'enrollment-group'", async (t) => {
  registrySuite(t, {
    capabilities: { awaitingConnection: true, ...FAULTS },
    open: (t) => dpsFixture(t, 'enrollment-group'),
  });
});
