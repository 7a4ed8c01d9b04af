import t from 'tap';
import { main } from '../../../server/registry/reconcile-cli.js';
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import { createSelfRegistry } from '../../../server/registry/self-registry.js';
import { capture, writeConfig } from '../audit/cli-fixture.js';
import { issue, storeWithOrder } from './helpers.js';

const aws = { name: 'aws', register: async (u: { serial: string }) => ({ externalId: `thing-${u.serial}` }), revoke: async () => {} };

t.test('keyline reconcile gates on a real database file', async (t) => {
  const dir = t.testdir();
  const { config } = writeConfig(dir);
  const store = await storeWithOrder(dir, ['self', 'aws']);
  t.teardown(() => store.close());
  const units = await issue(store, 2);
  const serials = units.map((u) => (u.ok ? u.value.serial : ''));

  // Logged but not yet delivered to aws: not preregistered, exit 1 (self registered with the unit).
  let r = await capture(() => main(['--json', '--config', config]));
  t.equal(r.result, 1);
  const before = JSON.parse(r.out);
  t.equal(before.ok, false);
  t.same(before.unregistered.map((u: { serial: string; registry: string }) => `${u.serial}/${u.registry}`).sort(),
    serials.map((s) => `${s}/aws`).sort());

  // Delivered to both registries: clean, exit 0.
  await createOutboxWorker({ store, registries: [createSelfRegistry({ store }), aws] }).runOnce();
  r = await capture(() => main(['--config', config]));
  t.equal(r.result, 0, r.out + r.err);
  t.match(r.out, /0 not preregistered, 0 registrations without a unit, 0 parked jobs/);

  // A second order whose registry keeps failing: its job parks; WO-1 alone stays clean.
  await store.transaction((tx) => tx.workOrders.create({ id: 'WO-2', product: 'Gateway', quota: 5, stations: null, createdAt: '2026-01-01T00:00:00.000Z', registries: ['azure'] }));
  const [late] = await issue(store, 1, 'WO-2');
  const lateSerial = late!.ok ? late!.value.serial : '';
  await createOutboxWorker({ store, registries: [], maxAttempts: 1 }).runOnce();
  r = await capture(() => main(['--config', config]));
  t.equal(r.result, 1);
  t.match(r.out, new RegExp(`not preregistered  ${lateSerial}  azure`));
  t.match(r.out, new RegExp(`parked job \\d+  ${lateSerial}  azure  register  after 1 attempts: UNKNOWN_REGISTRY: registry 'azure' is not configured`));
  t.equal((await capture(() => main(['--work-order', 'WO-1', '--config', config]))).result, 0);
  const wo2 = JSON.parse((await capture(() => main(['--work-order', 'WO-2', '--json', '--config', config]))).out);
  t.equal(wo2.parked.length, 1);

  // A registration naming no unit is listed whatever the work order.
  await store.transaction((tx) => tx.outbox.addRegistration({ serial: '0123FFFFFFFFFFFFEE', registry: 'aws', externalId: 'thing-x', registeredAt: '2026-01-05T00:00:00.000Z' }));
  r = await capture(() => main(['--work-order', 'WO-1', '--config', config]));
  t.equal(r.result, 1);
  t.match(r.out, /registration without unit  0123FFFFFFFFFFFFEE  aws  thing-x/);
});

t.test('units awaiting their first connection are listed apart and do not fail the gate', async (t) => {
  const dir = t.testdir();
  const { config } = writeConfig(dir);
  const store = await storeWithOrder(dir, ['jitp']);
  t.teardown(() => store.close());
  const [u] = await issue(store, 1);
  const serial = u!.ok ? u!.value.serial : '';
  const jitp = { name: 'jitp', register: async (x: { serial: string }) => ({ externalId: `thing-${x.serial}`, awaitingConnection: true }), confirmConnection: async () => null, revoke: async () => {} };
  await createOutboxWorker({ store, registries: [jitp] }).runOnce();
  const r = await capture(() => main(['--config', config]));
  t.equal(r.result, 0, r.out + r.err);
  t.match(r.out, new RegExp(`awaiting first connection  ${serial}  jitp  thing-${serial}`));
  t.match(r.out, /0 parked jobs \(1 awaiting first connection: not a failure\)/);
  const json = JSON.parse((await capture(() => main(['--json', '--config', config]))).out);
  t.match(json, { ok: true, unregistered: [], awaitingConnection: [{ serial, registry: 'jitp', externalId: `thing-${serial}` }] });
});

t.test('usage errors and a missing database', async (t) => {
  const dir = t.testdir();
  const { config } = writeConfig(dir);
  t.equal((await capture(() => main(['extra', '--config', config]))).result, 2);
  const missing = await capture(() => main(['--config', config]));
  t.not(missing.result, 0, 'no database file is an error, not a clean report');
  t.match(missing.err, /STORE_ERROR|no database/);
  t.match((await capture(() => main(['--help']))).out, /^Usage: keyline reconcile/);
});
