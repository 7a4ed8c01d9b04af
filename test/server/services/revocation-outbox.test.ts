/**
 * Revocation reaches the registries through the outbox: one 'revoke' job per registry the unit
 * was registered with or queued for (never 'self'), written in the revocation's transaction.
 */
import t, { type Test } from 'tap';
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import type { Registry } from '../../../server/registry/registry.js';
import { createSelfRegistry } from '../../../server/registry/self-registry.js';
import { createProvisioning } from '../../../server/services/provisioning.js';
import { createRevocation } from '../../../server/services/revocation.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { chipSerial, fakeIssuer, p256Key } from './helpers.js';
import { issueReq } from '../../helpers/requests.js';

function countingRegistry(name: string) {
  const calls: string[] = [];
  const registry: Registry = {
    name,
    async register(u) { calls.push(`register ${u.serial}`); return { externalId: `${name}-${u.serial}` }; },
    async revoke(u) { calls.push(`revoke ${u.serial}`); },
  };
  return { registry, calls };
}

async function setup(t: Test) {
  const store = new SqliteStore(`${t.testdir()}/k.db`);
  t.teardown(() => store.close());
  const aws = countingRegistry('aws');
  const azure = countingRegistry('azure');
  const registries = [createSelfRegistry({ store }), aws.registry, azure.registry];
  const worker = createOutboxWorker({ store, registries });
  const prov = createProvisioning({ store, issuer: fakeIssuer(), registryNames: registries.map((r) => r.name), outbox: worker });
  const revocation = createRevocation({ store });
  await prov.createWorkOrder({ id: 'WO-1', product: 'S', quota: 10, registries: ['self', 'aws'], preregistration: 'queued' }, 'admin');
  await prov.createWorkOrder({ id: 'WO-2', product: 'S', quota: 10, registries: ['azure'], preregistration: 'queued' }, 'admin');
  const issue = async (workOrder: string) => (await prov.issueUnit(issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder }), 'station-01')).serial;
  return { store, aws, azure, worker, revocation, issue };
}

t.test('revoke -> a revoke job per registry (not self) -> delivered -> registry.revoke called once', async (t) => {
  const { store, aws, worker, revocation, issue } = await setup(t);
  const serial = await issue('WO-1');
  await worker.runOnce();
  t.same(aws.calls, [`register ${serial}`]);
  await revocation.revoke({ serial, reason: 'keyCompromise' }, 'officer');
  const revokes = (await store.transaction((tx) => tx.outbox.jobsFor(serial))).filter((j) => j.action === 'revoke');
  t.same(revokes.map((j) => [j.registry, j.status]), [['aws', 'pending']], 'self gets no revoke job');
  t.match(await worker.runOnce(), { delivered: 1 });
  t.match(await worker.runOnce(), { delivered: 0 });
  t.same(aws.calls, [`register ${serial}`, `revoke ${serial}`]);
  // Revoking again changes nothing: no second job, no second call.
  await revocation.revoke({ serial, reason: 'keyCompromise' }, 'officer');
  await worker.runOnce();
  t.equal((await store.transaction((tx) => tx.outbox.jobsFor(serial))).filter((j) => j.action === 'revoke').length, 1);
  t.same(aws.calls, [`register ${serial}`, `revoke ${serial}`]);
});

t.test('revoked before its registration went out: never registered, revoke still sent once', async (t) => {
  const { azure, worker, revocation, issue } = await setup(t);
  const serial = await issue('WO-2');
  await revocation.revoke({ workOrder: 'WO-2', reason: 'cessationOfOperation' }, 'officer');
  await worker.runOnce();
  t.same(azure.calls, [`revoke ${serial}`]);
});
