import t from 'tap';
import { createProvisioning } from '../../server/services/provisioning.js';
import { main } from '../../server/units-cli.js';
import { capture, openFixtureStore, writeConfig } from './audit/cli-fixture.js';
import { chipSerial, fakeIssuer, p256Key } from './services/helpers.js';
import { STATION } from '../helpers/actors.js';
import { issueReq } from '../helpers/requests.js';

t.test('keyline units list / show against a real database file', async (t) => {
  const { config, db } = writeConfig(t.testdir());
  const store = openFixtureStore(db);
  const prov = createProvisioning({ store, issuer: fakeIssuer() });
  await prov.createWorkOrder({ id: 'WO-A', product: 'Sensor', quota: 10 }, 'admin');
  await prov.createWorkOrder({ id: 'WO-B', product: 'Gateway', quota: 10 }, 'admin');
  const serials: string[] = [];
  for (let i = 0; i < 5; i++) {
    const serial = chipSerial();
    serials.push(serial);
    await prov.issueUnit(issueReq({ serial, publicKey: p256Key().hex, workOrder: i < 3 ? 'WO-A' : 'WO-B' }), 'station-01');
  }
  await prov.quarantineUnit(serials[4]!, 'bad read-back', STATION);
  await store.close();

  const all = await capture(() => main(['list', '--config', config]));
  t.equal(all.result, 0);
  t.match(all.out, /^SERIAL\s+STATUS/);
  t.match(all.out, /5 units\n$/);
  const a = JSON.parse((await capture(() => main(['list', '--work-order', 'WO-A', '--json', '--config', config]))).out);
  t.equal(a.length, 3);
  t.ok(a.every((u: { workOrder: string }) => u.workOrder === 'WO-A'));
  const q = JSON.parse((await capture(() => main(['list', '--status', 'quarantined', '--json', '--config', config]))).out);
  t.match(q, [{ serial: serials[4], status: 'quarantined', statusReason: 'bad read-back' }]);
  t.equal(JSON.parse((await capture(() => main(['list', '--limit', '2', '--json', '--config', config]))).out).length, 2);

  const show = await capture(() => main(['show', serials[0]!.toLowerCase(), '--config', config]));
  t.equal(show.result, 0);
  t.match(show.out, new RegExp(`serial\\s+${serials[0]}`));
  t.match(show.out, /-----BEGIN CERTIFICATE-----/);
  t.match(JSON.parse((await capture(() => main(['show', serials[1]!, '--json', '--config', config]))).out), { serial: serials[1], workOrder: 'WO-A', certificatePem: /BEGIN CERTIFICATE/ });

  const unknown = await capture(() => main(['show', '0123000000000000EE', '--config', config]));
  t.equal(unknown.result, 1);
  t.match(unknown.err, /UNKNOWN_UNIT/);
  t.equal((await capture(() => main(['list', '--status', 'lost', '--config', config]))).result, 2);
  t.equal((await capture(() => main(['frobnicate', '--config', config]))).result, 2);
  t.match((await capture(() => main(['--help']))).out, /^Usage: keyline units list/);
});
