/**
 * `keyline registry list | setup` against a real dev PKI (SoftHSM tokens, SQLite) and the fake
 * AWS IoT endpoint: setup opens the HSM as the server does and registers the issuing CA for JITP.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { main } from '../../../server/registry/cli.js';
import { capture, writeConfig } from '../audit/cli-fixture.js';
import { makeDevPki } from '../../helpers/pki.js';
import { startFakeAwsIot } from './fake-aws-iot.js';
import { issue, storeWithOrder } from './helpers.js';

t.test('--help on the command and each subcommand; usage errors exit 2', async (t) => {
  t.match((await capture(() => main(['--help']))).out, /^Usage: keyline registry <list\|setup>/);
  t.match((await capture(() => main(['list', '--help']))).out, /^Usage: keyline registry list/);
  t.match((await capture(() => main(['setup', '--help']))).out, /^Usage: keyline registry setup --registry NAME/);
  t.equal((await capture(() => main(['frobnicate']))).result, 2);
  t.equal((await capture(() => main(['setup']))).result, 2, '--registry is required');
});

t.test('list: self and the configured registries with mode, registrations and job counts (no PIN needed)', async (t) => {
  const dir = t.testdir();
  const { config } = writeConfig(dir);
  const cfg = JSON.parse(readFileSync(config, 'utf8'));
  cfg.registries = { 'aws-eu': { type: 'aws-iot', region: 'eu-west-1', mode: 'jitp', jitp: { roleArn: 'arn:aws:iam::123456789012:role/keyline-jitp' } } };
  writeFileSync(config, JSON.stringify(cfg));
  const store = await storeWithOrder(dir, ['self', 'aws-eu']);
  await issue(store, 3);
  // Keyline's own registrations are written with the units (issue 13), without a job.
  await store.close();
  const r = await capture(() => main(['list', '--json', '--config', config]));
  t.equal(r.result, 0, r.err);
  t.same(JSON.parse(r.out).registries, [
    { name: 'self', type: 'self', mode: null, jobs: {}, registrations: 3 },
    { name: 'aws-eu', type: 'aws-iot', mode: 'jitp', jobs: { register: { pending: 3 } }, registrations: 0 },
  ]);
  const text = await capture(() => main(['list', '--config', config]));
  t.match(text.out, /self\s+self\s+-\s+3 registered; no jobs/);
  t.match(text.out, /aws-eu\s+aws-iot\s+jitp\s+0 registered; register: 3 pending/);
});

t.test('setup: opens the HSM, registers the issuing CA for JITP at the fake AWS, idempotently', async (t) => {
  const pki = await makeDevPki(t);
  const fake = await startFakeAwsIot();
  t.teardown(() => fake.close());
  const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
  cfg.registries = {
    aws: {
      type: 'aws-iot', region: fake.region, endpoint: fake.url, mode: 'jitp',
      credentials: { accessKeyId: { env: 'TEST_AWS_KEY_ID' }, secretAccessKey: { env: 'TEST_AWS_SECRET' } },
      jitp: { roleArn: 'arn:aws:iam::123456789012:role/keyline-jitp' },
    },
  };
  writeFileSync(pki.configPath, JSON.stringify(cfg));
  process.env.TEST_AWS_KEY_ID = fake.credentials.accessKeyId;
  process.env.TEST_AWS_SECRET = fake.credentials.secretAccessKey;
  t.teardown(() => { delete process.env.TEST_AWS_KEY_ID; delete process.env.TEST_AWS_SECRET; });

  const first = await capture(() => main(['setup', '--registry', 'aws', '--json', '--config', pki.configPath]));
  t.equal(first.result, 0, first.err);
  t.match(JSON.parse(first.out), { registry: 'aws', mode: 'jitp', status: 'ACTIVE', autoRegistration: 'ENABLE' });
  t.equal(fake.state.cas.size, 1);
  t.notMatch(first.out + first.err, new RegExp(fake.credentials.secretAccessKey), 'the secret is never printed');
  const again = await capture(() => main(['setup', '--registry', 'aws', '--config', pki.configPath]));
  t.equal(again.result, 0, again.err);
  t.equal(fake.state.cas.size, 1, 'no second CA');

  const self = await capture(() => main(['setup', '--registry', 'self', '--config', pki.configPath]));
  t.equal(self.result, 1);
  const unknown = await capture(() => main(['setup', '--registry', 'azure', '--config', pki.configPath]));
  t.match(unknown.err, /UNKNOWN_REGISTRY/);
});
