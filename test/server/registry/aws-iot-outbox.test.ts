/**
 * The AWS IoT registry driven by the real outbox worker over a SQLite store: a burst of throttling
 * and an outage are absorbed, and every unit ends with exactly one certificate and one thing at
 * the fake, one registration row and its job delivered; JITP jobs wait for the first connection.
 */
import t from 'tap';
import { toPem } from '../../../common/pem.js';
import { awsIotKind } from '../../../server/registry/aws-iot-kind.js';
import { createAwsIotRegistry } from '../../../server/registry/aws-iot-registry.js';
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import { awsFixture } from './aws-iot-fixture.js';

/** Runs rounds until no job is pending (or `ms` passed). */
async function drain(worker: ReturnType<typeof createOutboxWorker>, pending: () => Promise<number>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while ((await pending()) > 0) {
    if (Date.now() > end) throw new Error('outbox did not drain');
    await worker.runOnce();
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('throttle burst and 503s through the outbox: each unit registered exactly once', async (t) => {
  const f = await awsFixture(t, { fake: { retryAfterSeconds: 1 } });
  const aws = createAwsIotRegistry('aws', f.config({ policyName: 'keyline-device', thingGroup: 'line-1', maxPerSecond: 50 }), f.ctx);
  const units = await f.units(6);
  const worker = createOutboxWorker({ store: f.store, registries: [aws], baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 20 });
  f.fake.failNext('throttle', 8);
  f.fake.failNext('unavailable', 3, 'CreateThing');
  const pending = async () => (await Promise.all(units.map((u) => f.store.transaction((tx) => tx.outbox.jobsFor(u.serial)))))
    .flat().filter((j) => j.status !== 'delivered').length;
  const t0 = Date.now();
  await drain(worker, pending);
  t.ok(Date.now() - t0 >= 900, 'the Retry-After of the throttle was honoured');
  t.equal(f.fake.state.certificates.size, 6, 'one certificate per unit');
  t.equal(f.fake.state.things.size, 6, 'one thing per unit');
  for (const u of units) {
    const jobs = await f.store.transaction((tx) => tx.outbox.jobsFor(u.serial));
    t.same(jobs.map((j) => [j.registry, j.action, j.status]), [['aws', 'register', 'delivered']]);
    t.equal((await f.store.transaction((tx) => tx.outbox.getRegistration(u.serial, 'aws')))?.externalId, u.serial);
    const thing = f.fake.state.things.get(u.serial)!;
    t.same([...thing.principals], [f.fake.state.certificates.get(u.fingerprintSha256)!.arn]);
    t.same([...thing.groups], ['line-1']);
  }
  t.equal(f.fake.count('RegisterCertificateWithoutCA!throttle') + f.fake.count('AttachPolicy!throttle') + f.fake.count('CreateThing!throttle') +
    f.fake.count('AttachThingPrincipal!throttle') + f.fake.count('AddThingToThingGroup!throttle') + f.fake.count('DescribeCertificate!throttle'), 8, 'all 8 throttles served');
  t.equal(f.fake.count('CreateThing!unavailable'), 3);
  t.same(await f.store.transaction((tx) => tx.outbox.parked()), []);
  t.same(await f.store.transaction((tx) => tx.outbox.unregistered()), []);
  t.same(f.fake.state.violations, []);

  // Revocation travels through the same outbox.
  const [u] = units;
  await f.store.transaction((tx) => tx.outbox.enqueue({ serial: u!.serial, registry: 'aws', action: 'revoke', at: new Date().toISOString() }));
  f.fake.failNext('throttle', 1, 'UpdateCertificate');
  await drain(worker, pending);
  t.equal(f.fake.state.certificates.get(u!.fingerprintSha256)?.status, 'REVOKED');
});

t.test('jitp through the outbox: awaiting until the device connects, then delivered', async (t) => {
  const f = await awsFixture(t);
  const cfg = f.config({ mode: 'jitp', jitp: { roleArn: 'arn:aws:iam::123456789012:role/keyline-jitp' } });
  await awsIotKind.setup!('aws', cfg, f.ctx);
  const aws = awsIotKind.create('aws', cfg, f.ctx);
  const [u] = await f.units(1);
  const worker = createOutboxWorker({ store: f.store, registries: [aws], awaitingCheckMs: 0 });
  t.equal((await worker.runOnce()).awaiting, 1);
  t.equal((await worker.runOnce()).awaiting, 1, 'still awaiting: no connection yet');
  const [job] = await f.store.transaction((tx) => tx.outbox.jobsFor(u!.serial));
  t.match(job, { status: 'awaiting', externalId: u!.serial });
  t.same(f.fake.connect(toPem(u!.certificateDer)), { ok: true });
  t.equal((await worker.runOnce()).delivered, 1);
  t.equal((await f.store.transaction((tx) => tx.outbox.getRegistration(u!.serial, 'aws')))?.externalId, u!.serial);
  t.same(f.fake.state.violations, []);
});
