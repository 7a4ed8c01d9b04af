/**
 * Work orders naming registries and confirm gating through the real server: config →
 * registries (self plus an Azure DPS section whose endpoint refuses connections), HTTPS + mTLS,
 * SQLite, the outbox worker. The cloud registries' own behaviour is tested with their fakes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, operatorFor, startTestServer } from '../helpers/server.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';

const pki = await makeDevPki(t);
const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
cfg.registries = {
  'dps-down': {
    type: 'azure-dps', connectionString: { env: 'TEST_DPS_CONNECTION' }, endpoint: { host: '127.0.0.1', port: 1 }, timeoutMs: 500,
  },
};
cfg.outbox = { confirmWaitMs: 400, baseDelayMs: 50, maxDelayMs: 100, intervalMs: 50, maxAttempts: 100 };
writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
const server = await startTestServer(t, pki, {
  TEST_DPS_CONNECTION: `HostName=test.azure-devices-provisioning.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=${Buffer.alloc(32, 7).toString('base64')}`,
});
const api = clientFor(t, pki, server.apiUrl);
const operator = operatorFor(t, pki, server.apiUrl);

async function issue(workOrder: string) {
  const u = await api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder });
  return { serial: u.serial, fp: u.fingerprintSha256 };
}

t.test('POST /v1/work-orders: registries must be configured; both fields shown', async (t) => {
  const bad = await operator.raw('POST', '/v1/work-orders', { id: 'WO-X', product: 'S', quota: 1, registries: ['self', 'aws-us'] });
  t.equal(bad.status, 400);
  t.match(bad.body, { error: { code: 'UNKNOWN_REGISTRY', detail: { registry: 'aws-us' } } });
  t.match(await operator.createWorkOrder({ id: 'WO-SELF', product: 'S', quota: 5 }), { registries: ['self'], preregistration: 'confirmed' });
  await operator.createWorkOrder({ id: 'WO-DPS', product: 'S', quota: 5, registries: ['self', 'dps-down'] });
  await operator.createWorkOrder({ id: 'WO-Q', product: 'S', quota: 5, registries: ['self', 'dps-down'], preregistration: 'queued' });
  t.match(await api.getWorkOrder('WO-Q'), { registries: ['self', 'dps-down'], preregistration: 'queued' });
});

t.test('confirm: self registered at once; an unreachable registry is 503 REGISTRATION_PENDING; queued completes', async (t) => {
  const a = await issue('WO-SELF');
  t.match(await api.confirmUnit(a.serial, a.fp), { status: 'confirmed', complete: true, registrations: [{ registry: 'self', state: 'registered', externalId: `keyline:${a.serial}` }] });

  const b = await issue('WO-DPS');
  const r = await api.raw('POST', `/v1/units/${b.serial}/confirm`, { fingerprintSha256: b.fp });
  t.equal(r.status, 503);
  t.match(r.body, { error: { code: 'REGISTRATION_PENDING', detail: { registrations: [{ registry: 'self', state: 'registered' }, { registry: 'dps-down', state: 'queued' }] } } });
  t.match((await api.getUnit(b.serial)).status, 'confirmed', 'the confirmation is recorded; a retry only waits again');
  const again = await api.raw('POST', `/v1/units/${b.serial}/confirm`, { fingerprintSha256: b.fp });
  t.equal(again.status, 503);

  const c = await issue('WO-Q');
  t.match(await api.confirmUnit(c.serial, c.fp), { complete: true, registrations: [{ registry: 'self' }, { registry: 'dps-down', state: 'queued' }] });
});

t.test('GET /v1/outbox: Keyline\'s own registry shows its registered units (it has no jobs), a cloud registry its jobs', async (t) => {
  const r = await operator.raw('GET', '/v1/outbox');
  t.equal(r.status, 200);
  const o = r.body as { counts: Record<string, Record<string, Record<string, number>>>; registered: Record<string, number> };
  t.equal(o.registered.self, 3, 'the three units issued above are registered with self');
  t.notOk(o.registered['dps-down'], 'the unreachable registry registered none');
  t.notOk(o.counts.self, 'self registrations are written with the unit, not queued');
  t.ok(Object.values(o.counts['dps-down'] ?? {}).some((byState) => (byState.pending ?? 0) > 0), 'the unreachable registry\'s jobs are pending');
});

t.test('GET /v1/openapi.json describes the confirm answers', async (t) => {
  const doc = (await api.raw('GET', '/v1/openapi.json')).body as { paths: Record<string, { post?: { responses: Record<string, unknown> } }> };
  t.ok(doc.paths['/v1/units/{serial}/confirm']?.post?.responses['503']);
  t.ok(doc.paths['/v1/units/{serial}/confirm']?.post?.responses['502']);
});
