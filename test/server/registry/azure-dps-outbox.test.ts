/**
 * Azure DPS wired as the server wires it: a keyline.json section with a {file} connection string,
 * built by createRegistries through the kind's factory, `registry setup` writing the group, and
 * the outbox worker taking the job from there. What the outbox makes of each DPS answer is the
 * contract suite's (azure-dps-registry.test.ts runs registry.suite.ts in both modes).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../../common/log.js';
import type { Config } from '../../../server/config.js';
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import { createRegistries, setupRegistry } from '../../../server/registry/registries.js';
import { startFakeAzureDps } from './fake-azure-dps.js';
import { registryBase } from './registry-fixture.js';

const REGISTRY = 'azure-eu';

t.test('wired from keyline.json: a {file} connection string, the kind\'s factory and `registry setup`', async (t) => {
  const { pki, store, dir, units } = await registryBase(t, REGISTRY);
  const fake = await startFakeAzureDps({ dir });
  t.teardown(() => fake.close());
  writeFileSync(join(dir, 'dps.conn'), `${fake.connectionString}\n`);
  const section = { type: 'azure-dps', connectionString: { file: 'dps.conn' }, endpoint: { host: 'localhost', port: fake.port, ca: fake.caPath }, mode: 'enrollment-group' };
  const config = { registries: { [REGISTRY]: section }, file: join(dir, 'keyline.json'), baseDir: dir } as unknown as Pick<Config, 'registries' | 'file' | 'baseDir'>;
  const registries = createRegistries(config, { store, issuingCaPem: pki.issuingPem, log: silentLogger });
  t.same(registries.map((r) => r.name), ['self', REGISTRY]);
  const summary = await setupRegistry(config, REGISTRY, { issuingCaPem: pki.issuingPem, issuingCaDer: pki.issuingDer, issuingSigner: pki.signer, log: silentLogger, progress: () => undefined });
  t.match(summary, { type: 'azure-dps', enrollmentGroupId: REGISTRY, created: true });
  t.ok(fake.state.groups.has(REGISTRY.toLowerCase()), 'group written with the secret read from the file');
  const [u] = await units(1);
  await createOutboxWorker({ store, registries, log: silentLogger }).runOnce();
  t.equal((await store.transaction((tx) => tx.outbox.jobsFor(u!.serial))).find((j) => j.registry === REGISTRY)?.status, 'awaiting');
  t.same(fake.violations, []);
});
