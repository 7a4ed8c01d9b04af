/**
 * Issue 6, end to end: a real `keyline server` process preregisters with AWS IoT (the fake) for a
 * work order naming ['self', 'aws']. AWS hangs the first calls, so the server is SIGKILLed with
 * some units recorded but never sent, and others registered at AWS but not marked delivered.
 * After a restart every unit is registered exactly once (one certificate, one thing each), no job
 * is pending and `keyline reconcile` is clean.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { chipSerialHex, deviceKey } from '../../helpers/device-keys.js';
import { makeDevPki } from '../../helpers/pki.js';
import { clientFor, KEYLINE_BIN, operatorFor, spawnServer } from '../../helpers/server.js';
import { startFakeAwsIot } from './fake-aws-iot.js';

const bin = KEYLINE_BIN;


async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('SIGKILL between the record and the AWS delivery: after restart each unit is registered once', async (t) => {
  const pki = await makeDevPki(t);
  const fake = await startFakeAwsIot({ policies: ['keyline-device'], thingGroups: ['line-1'] });
  t.teardown(() => fake.close());
  const config = JSON.parse(readFileSync(pki.configPath, 'utf8')) as Record<string, unknown>;
  config.registries = {
    aws: {
      type: 'aws-iot', region: fake.region, endpoint: fake.url, policyName: 'keyline-device', thingGroup: 'line-1',
      credentials: { accessKeyId: { env: 'AWS_TEST_KEY_ID' }, secretAccessKey: { env: 'AWS_TEST_SECRET' } },
      // Long enough that the hung calls are still open when the server is killed.
      requestTimeoutMs: 15_000,
    },
  };
  // A round waits for its slowest call, so the four units must be due in one round: issue them
  // within the first idle interval.
  config.outbox = { leaseSeconds: 2, baseDelayMs: 100, maxDelayMs: 500, intervalMs: 5000 };
  writeFileSync(pki.configPath, JSON.stringify(config, null, 2));
  const env = { AWS_TEST_KEY_ID: fake.credentials.accessKeyId, AWS_TEST_SECRET: fake.credentials.secretAccessKey };

  // Two units' first call hangs (nothing at AWS); two hang at the attach, after certificate and thing exist.
  fake.failNext('hang', 2, 'RegisterCertificateWithoutCA');
  fake.failNext('hang', 2, 'AttachThingPrincipal');
  const first = await spawnServer(pki, env);
  t.teardown(() => void first.child.kill('SIGKILL'));
  const api = clientFor(t, pki, first.url);
  await operatorFor(t, pki, first.url).createWorkOrder({ id: 'WO-AWS', product: 'Sensor', quota: 10, registries: ['self', 'aws'], preregistration: 'queued' });
  const serials = (await Promise.all(Array.from({ length: 4 }, (_, i) =>
    api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-AWS', idempotencyKey: `aws-${i}` })))).map((r) => r.serial);
  // Normally all four are due in one round and all four calls hang; on a loaded machine a unit may
  // miss that round, and then stays pending behind the hung round, which the scenario allows too.
  await until('a hung AWS call', () => fake.hanging() >= 1);
  await until('four hung AWS calls', () => fake.hanging() === 4, 5_000).catch(() => t.comment(`${fake.hanging()} hung calls at the kill`));
  t.ok(fake.state.certificates.size <= 2, `${fake.state.certificates.size} units reached AWS before the crash, none marked delivered`);
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  fake.clearFaults();

  const db = new Database(join(pki.outDir, 'keyline.db'), { readonly: true });
  t.teardown(() => db.close());
  const awsJobs = () => db.prepare("SELECT serial, status FROM outbox_jobs WHERE registry = 'aws' AND action = 'register'").all() as { serial: string; status: string }[];
  t.same(awsJobs().map((j) => j.status), ['pending', 'pending', 'pending', 'pending'], 'every AWS job still pending after the crash');
  t.equal((db.prepare("SELECT count(*) AS n FROM units WHERE work_order = 'WO-AWS'").get() as { n: number }).n, 4, 'all four units recorded');

  const second = await spawnServer(pki, env);
  t.teardown(() => void second.child.kill('SIGTERM'));
  await until('AWS jobs delivered after restart', () => awsJobs().every((j) => j.status === 'delivered'), 45_000).catch((e: unknown) => {
    // What the fake saw and what the outbox holds, to tell a slow machine from a lost job.
    t.comment(JSON.stringify({ calls: fake.state.calls, violations: fake.state.violations, jobs: db.prepare('SELECT * FROM outbox_jobs').all() }));
    throw e;
  });

  t.equal(fake.state.certificates.size, 4, 'one certificate per unit');
  t.equal(fake.state.things.size, 4, 'one thing per unit');
  for (const serial of serials) {
    const thing = fake.state.things.get(serial);
    t.equal(thing?.principals.size, 1, `thing ${serial} holds its one certificate`);
    t.same([...(thing?.groups ?? [])], ['line-1']);
  }
  const regs = db.prepare("SELECT registry, count(*) AS n FROM registrations GROUP BY registry ORDER BY registry").all();
  t.same(regs, [{ registry: 'aws', n: 4 }, { registry: 'self', n: 4 }]);
  t.equal((db.prepare("SELECT count(*) AS n FROM outbox_jobs WHERE status <> 'delivered'").get() as { n: number }).n, 0, 'no job pending or parked');
  t.same(fake.state.violations, []);
  const reconcile = spawnSync(process.execPath, [bin, 'reconcile', '--config', pki.configPath], { encoding: 'utf8' });
  t.equal(reconcile.status, 0, `keyline reconcile is clean: ${reconcile.stdout}`);
});
