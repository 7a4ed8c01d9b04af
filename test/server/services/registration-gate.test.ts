import t, { type Test } from 'tap';
import { RegistryError } from '../../../common/errors.js';
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import type { Registry, RegistrationResult } from '../../../server/registry/registry.js';
import { createSelfRegistry } from '../../../server/registry/self-registry.js';
import { createProvisioning } from '../../../server/services/provisioning.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { chipSerial, fakeIssuer, p256Key } from './helpers.js';
import { OPERATOR, STATION } from '../../helpers/actors.js';
import { issueReq } from '../../helpers/requests.js';
import { workOrderCreate } from '../../../common/protocol/station-api.js';

/** A registry whose answer the test switches at will. */
function switchable(name: string) {
  let answer: () => RegistrationResult | Error = () => new RegistryError('REGISTRY_UNAVAILABLE', 'still starting');
  let calls = 0;
  const registry: Registry = {
    name,
    async register(u) {
      calls++;
      const r = answer();
      if (r instanceof Error) throw r;
      return { ...r, externalId: `${name}-${u.serial}` };
    },
    async confirmConnection() { return null; },
    async revoke() {},
  };
  return { registry, set: (a: () => RegistrationResult | Error) => { answer = a; }, calls: () => calls };
}

async function setup(t: Test, extra: Registry[], waitMs = 300) {
  const store = new SqliteStore(`${t.testdir()}/k.db`);
  t.teardown(() => store.close());
  const registries = [createSelfRegistry({ store }), ...extra];
  // Retries come quickly, so a waiting confirm sees a recovered registry within its wait.
  const outbox = createOutboxWorker({ store, registries, baseDelayMs: 20, maxDelayMs: 20, maxAttempts: 50 });
  const prov = createProvisioning({ store, issuer: fakeIssuer(), registryNames: registries.map((r) => r.name), outbox, confirmWaitMs: waitMs });
  const issue = async (workOrder: string) => {
    const r = await prov.issueUnit(issueReq({ serial: chipSerial(), publicKey: p256Key().hex, workOrder }), 'station-01');
    return { serial: r.serial, fp: r.fingerprintSha256 };
  };
  return { store, prov, issue };
}

t.test('work orders name configured registries and a preregistration policy', async (t) => {
  const cloud = switchable('cloud');
  const { prov } = await setup(t, [cloud.registry]);
  t.match(await prov.createWorkOrder({ id: 'WO-1', product: 'S', quota: 5 }, 'admin'), { registries: ['self'], preregistration: 'confirmed' });
  t.match(await prov.createWorkOrder({ id: 'WO-2', product: 'S', quota: 5, registries: ['self', 'cloud'], preregistration: 'queued' }, 'admin'),
    { registries: ['self', 'cloud'], preregistration: 'queued' });
  t.match(await prov.getWorkOrder('WO-2', OPERATOR), { registries: ['self', 'cloud'], preregistration: 'queued' });
  await t.rejects(prov.createWorkOrder({ id: 'WO-3', product: 'S', quota: 5, registries: ['self', 'azure-eu'] }, 'admin'),
    { code: 'UNKNOWN_REGISTRY', message: /'azure-eu' is not configured/ });
  t.notOk(workOrderCreate.safeParse({ id: 'WO-4', product: 'S', quota: 5, registries: ['cloud', 'cloud'] }).success, 'each registry once');
  t.notOk(workOrderCreate.safeParse({ id: 'WO-5', product: 'S', quota: 5, preregistration: 'later' }).success);
});

t.test('confirmed: the self registration is delivered by the confirm itself', async (t) => {
  const { prov, issue } = await setup(t, []);
  await prov.createWorkOrder({ id: 'WO-1', product: 'S', quota: 5 }, 'admin');
  const u = await issue('WO-1');
  const r = await prov.confirmUnit(u.serial, { fingerprintSha256: u.fp }, STATION);
  t.match(r, { status: 'confirmed', complete: true, registrations: [{ registry: 'self', state: 'registered', externalId: `keyline:${u.serial}` }] });
});

t.test('confirmed: REGISTRATION_PENDING while a registry is down; a repeated confirm completes once it is back', async (t) => {
  const cloud = switchable('cloud');
  const { prov, issue, store } = await setup(t, [cloud.registry], 250);
  await prov.createWorkOrder({ id: 'WO-1', product: 'S', quota: 5, registries: ['self', 'cloud'] }, 'admin');
  const u = await issue('WO-1');
  const started = Date.now();
  const err = await prov.confirmUnit(u.serial, { fingerprintSha256: u.fp }, STATION).catch((e: unknown) => e) as RegistryError;
  t.equal(err.code, 'REGISTRATION_PENDING');
  t.ok(Date.now() - started >= 240, 'waited confirmWaitMs');
  t.same(err.detail?.registrations, [{ registry: 'self', state: 'registered', externalId: `keyline:${u.serial}` }, { registry: 'cloud', state: 'queued' }]);
  t.equal((await store.transaction((tx) => tx.units.getBySerial(u.serial)))?.status, 'confirmed', 'the confirmation itself is recorded');
  t.ok(cloud.calls() >= 2, 'retried within the wait');
  cloud.set(() => ({ externalId: '' }));
  const again = await prov.confirmUnit(u.serial, { fingerprintSha256: u.fp }, STATION);
  t.match(again, { complete: true, registrations: [{ registry: 'self', state: 'registered' }, { registry: 'cloud', state: 'registered', externalId: `cloud-${u.serial}` }] });
});

t.test('confirmed: a rejected registration is REGISTRY_REJECTED with the reason', async (t) => {
  const cloud = switchable('cloud');
  cloud.set(() => new RegistryError('REGISTRY_REJECTED', 'thing type Sensor does not exist'));
  const { prov, issue } = await setup(t, [cloud.registry]);
  await prov.createWorkOrder({ id: 'WO-1', product: 'S', quota: 5, registries: ['cloud'] }, 'admin');
  const u = await issue('WO-1');
  await t.rejects(prov.confirmUnit(u.serial, { fingerprintSha256: u.fp }, STATION),
    { code: 'REGISTRY_REJECTED', message: /registry 'cloud' refused the registration \(REGISTRY_REJECTED: thing type Sensor does not exist\)/,
      detail: { registrations: [{ registry: 'cloud', state: 'parked' }] } });
});

t.test('confirmed: a CA-level registration awaiting first connection counts as complete', async (t) => {
  const cloud = switchable('jitp');
  cloud.set(() => ({ externalId: '', awaitingConnection: true }));
  const { prov, issue } = await setup(t, [cloud.registry]);
  await prov.createWorkOrder({ id: 'WO-1', product: 'S', quota: 5, registries: ['self', 'jitp'] }, 'admin');
  const u = await issue('WO-1');
  t.match(await prov.confirmUnit(u.serial, { fingerprintSha256: u.fp }, STATION),
    { complete: true, registrations: [{ registry: 'self', state: 'registered' }, { registry: 'jitp', state: 'awaiting-connection', externalId: `jitp-${u.serial}` }] });
});

t.test('queued: complete at once with the jobs in the outbox (self registered with the unit), nothing delivered by the confirm', async (t) => {
  const cloud = switchable('cloud');
  const { prov, issue } = await setup(t, [cloud.registry]);
  await prov.createWorkOrder({ id: 'WO-1', product: 'S', quota: 5, registries: ['self', 'cloud'], preregistration: 'queued' }, 'admin');
  const u = await issue('WO-1');
  t.match(await prov.confirmUnit(u.serial, { fingerprintSha256: u.fp }, STATION),
    { complete: true, registrations: [{ registry: 'self', state: 'registered', externalId: `keyline:${u.serial}` }, { registry: 'cloud', state: 'queued' }] });
  t.equal(cloud.calls(), 0);
});
