/**
 * Azure DPS behind the outbox worker on a real SQLite file: units issued through the real
 * pipeline with the template device issuer (CN = serial) reach the fake DPS as individual
 * enrollments exactly once; a throttled call waits for Retry-After; a clone parks its job; in
 * enrollment-group mode the job waits for the device's first connection; a revoke job disables.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { silentLogger } from '../../../common/log.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { createAzureDpsRegistry, toPem } from '../../../server/registry/azure-dps-registry.js';
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import { createRegistries, setupRegistry } from '../../../server/registry/registries.js';
import type { Config } from '../../../server/config.js';
import { createIssuePipeline } from '../../../server/services/issue-units.js';
import type { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { makeTestPki } from '../../secure-element/atcacert/ca-fixture.js';
import { chipSerial, p256Key } from '../services/helpers.js';
import { fakeDpsConfig, fakeDpsContext, startFakeAzureDps } from './fake-azure-dps.js';
import { storeWithOrder } from './helpers.js';

const pkiP = makeTestPki();
const REGISTRY = 'azure-eu';

/** A store with work order WO-1 naming the DPS registry, a fake DPS, the registry, a clock. */
async function setup(t: Test, extra: Record<string, unknown> = {}) {
  const pki = await pkiP;
  const dir = t.testdir();
  const store = await storeWithOrder(dir, [REGISTRY]);
  t.teardown(() => store.close());
  const fake = await startFakeAzureDps({ dir });
  t.teardown(() => fake.close());
  const registry = createAzureDpsRegistry(REGISTRY, fakeDpsConfig(fake, extra), fakeDpsContext(fake, pki.issuingPem, silentLogger));
  const clock = { at: Date.now() };
  const now = () => new Date(clock.at);
  const worker = createOutboxWorker({ store, registries: [registry], now, awaitingCheckMs: 60_000, log: silentLogger });
  const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 10 });
  const issueUnits = createIssuePipeline({ store, issuer, now, log: silentLogger });
  async function issue(n: number): Promise<string[]> {
    const out = await issueUnits(Array.from({ length: n }, () => ({ serial: chipSerial(), publicKey: p256Key().raw, workOrder: 'WO-1', idempotencyKey: null })), 'station-1');
    return out.map((o) => (o.ok ? o.value.serial : t.fail(o.error.message) as never));
  }
  const jobs = (serial: string) => store.transaction((tx) => tx.outbox.jobsFor(serial));
  const unit = async (serial: string) => (await store.transaction((tx) => tx.units.getBySerial(serial)))!;
  return { dir, store: store as SqliteStore, fake, registry, worker, clock, issue, jobs, unit };
}

t.test('issued units become one DPS individual enrollment each, once', async (t) => {
  const { fake, worker, issue, jobs, unit, store } = await setup(t);
  const serials = await issue(3);
  await worker.runOnce();
  for (const s of serials) {
    t.same((await jobs(s)).map((j) => j.status), ['delivered'], `${s} delivered`);
    t.equal((await store.transaction((tx) => tx.outbox.getRegistration(s, REGISTRY)))?.externalId, s, 'externalId = registration id = serial');
    const e = fake.state.enrollments.get(s.toLowerCase());
    t.equal(e?.pem.replace(/\s+/g, ''), toPem((await unit(s)).certificateDer).replace(/\s+/g, ''), 'enrollment holds the unit certificate');
    t.equal(fake.deviceConnects(e!.pem).status, 'assigned', 'DPS would provision the device');
  }
  const before = fake.state.requests.length;
  await worker.runOnce();
  t.equal(fake.state.requests.length, before, 'nothing due: no call');
  t.same(fake.violations, []);
});

t.test('a throttled call waits for Retry-After without counting an attempt, then delivers', async (t) => {
  const { fake, worker, issue, jobs, clock } = await setup(t);
  const [s] = await issue(1);
  // One second: the worker's rate limiter also pauses the registry that long, in real time.
  fake.failNext(429, 1, 1);
  await worker.runOnce();
  const [job] = await jobs(s!);
  t.equal(job!.status, 'pending');
  t.equal(job!.attempts, 0, 'a throttled call is not a failed attempt');
  t.ok(Date.parse(job!.nextAttemptAt) >= clock.at + 1_000, 'next attempt after Retry-After');
  clock.at += 500;
  await worker.runOnce();
  t.equal(fake.state.enrollments.size, 0, 'not retried before Retry-After');
  clock.at += 600;
  await worker.runOnce();
  t.same((await jobs(s!)).map((j) => j.status), ['delivered']);
  t.same(fake.violations, []);
});

t.test('DPS unavailable is retried; a clone (another certificate under the serial) parks the job', async (t) => {
  const { fake, worker, issue, jobs, clock, unit } = await setup(t);
  const [down, clone] = await issue(2);
  // A foreign enrollment already holds `clone`'s registration id with another device's certificate.
  const other = await unit(down!);
  fake.state.enrollments.set(clone!.toLowerCase(), { body: { registrationId: clone, provisioningStatus: 'enabled' }, pem: toPem(other.certificateDer), etag: '"x"', writes: 1 });
  fake.failNext(503);
  await worker.runOnce();
  const jd = (await jobs(down!))[0]!;
  const jc = (await jobs(clone!))[0]!;
  t.equal(jc.status, 'parked', 'clone parked at once');
  t.match(jc.lastError, /another certificate/);
  t.equal(fake.state.enrollments.get(clone!.toLowerCase())!.writes, 1, 'foreign enrollment not overwritten');
  t.equal(jd.status, 'pending', '503 is retried');
  t.equal(jd.attempts, 1);
  clock.at = Date.parse(jd.nextAttemptAt) + 1;
  await worker.runOnce();
  t.equal((await jobs(down!))[0]!.status, 'delivered');
  t.same(fake.violations, []);
});

t.test('enrollment-group mode: the job awaits the first connection, then records the registration', async (t) => {
  const { fake, worker, issue, jobs, clock, store } = await setup(t, { mode: 'enrollment-group' });
  const [s] = await issue(1);
  await worker.runOnce();
  t.equal((await jobs(s!))[0]!.status, 'awaiting');
  t.equal(fake.state.requests.length, 0, 'no enrollment written');
  clock.at += 61_000;
  await worker.runOnce();
  t.equal((await jobs(s!))[0]!.status, 'awaiting', 'still not connected (404)');
  const { certificateDer } = (await store.transaction((tx) => tx.units.getBySerial(s!)))!;
  // The device's first connection (the group on the issuing CA admits it).
  fake.state.groups.set('g', { body: { enrollmentGroupId: 'g', provisioningStatus: 'enabled' }, pem: (await pkiP).issuingPem, etag: '"g"', writes: 1 });
  t.equal(fake.deviceConnects(toPem(certificateDer)).status, 'assigned');
  clock.at += 61_000;
  await worker.runOnce();
  t.equal((await jobs(s!))[0]!.status, 'delivered');
  t.equal((await store.transaction((tx) => tx.outbox.getRegistration(s!, REGISTRY)))?.externalId, s);
  t.same(fake.violations, []);
});

t.test('a revoke job disables the unit\'s enrollment', async (t) => {
  const { fake, worker, issue, store, clock } = await setup(t);
  const [s] = await issue(1);
  await worker.runOnce();
  await store.transaction((tx) => tx.outbox.enqueue({ serial: s!, registry: REGISTRY, action: 'revoke', at: new Date(clock.at).toISOString() }));
  await worker.runOnce();
  t.equal(fake.state.enrollments.get(s!.toLowerCase())?.body.provisioningStatus, 'disabled');
  t.same(fake.violations, []);
});

t.test('wired from keyline.json: a {file} connection string, the kind\'s factory and `registry setup`', async (t) => {
  const { dir, fake, issue, store } = await setup(t);
  const pki = await pkiP;
  writeFileSync(join(dir, 'dps.conn'), `${fake.connectionString}\n`);
  const section = { type: 'azure-dps', connectionString: { file: 'dps.conn' }, endpoint: { host: 'localhost', port: fake.port, ca: fake.caPath }, mode: 'enrollment-group' };
  const config = { registries: { [REGISTRY]: section }, file: join(dir, 'keyline.json'), baseDir: dir } as unknown as Pick<Config, 'registries' | 'file' | 'baseDir'>;
  const registries = createRegistries(config, { store, issuingCaPem: pki.issuingPem, log: silentLogger });
  t.same(registries.map((r) => r.name), ['self', REGISTRY]);
  const summary = await setupRegistry(config, REGISTRY, { issuingCaPem: pki.issuingPem, issuingCaDer: pki.issuingDer, issuingSigner: pki.signer, log: silentLogger, progress: () => undefined });
  t.match(summary, { type: 'azure-dps', enrollmentGroupId: REGISTRY, created: true });
  t.ok(fake.state.groups.has(REGISTRY.toLowerCase()), 'group written with the secret read from the file');
  const [s] = await issue(1);
  await createOutboxWorker({ store, registries, log: silentLogger }).runOnce();
  t.equal((await store.transaction((tx) => tx.outbox.jobsFor(s!))).find((j) => j.registry === REGISTRY)?.status, 'awaiting');
  t.same(fake.violations, []);
});
