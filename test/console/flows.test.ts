/**
 * Issue 18, the console in a real browser (2): the operator creates a work order with the form
 * and watches a running station (`keyline station run` over emulated chips, one of them a clone)
 * update the line live over server-sent events, clone alert included; the officer releases a
 * quarantined unit, scraps another and revokes a unit (the CRL number moves, OCSP says revoked);
 * a unit's story is found by fingerprint; the operator's forged release is refused (FORBIDDEN)
 * and a cross-site post is refused (CSRF_REJECTED). Screenshots of the line and of a unit's story
 * go to docs/ for the README when KEYLINE_UPDATE_DOCS=1.
 */
import { request } from 'node:https';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';
import { blankChips } from '../station/harness.js';
import { station, type E2eServer } from '../station/e2e-helpers.js';
import { KitServer } from '../../emulator/kit/kit-server.js';
import { listenKitTcp } from '../../emulator/kit/tcp.js';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, officerFor, operatorFor, startTestServer } from '../helpers/server.js';
import { contextAs, launchChromium, noChromium } from './browser.js';

// The README's screenshots are refreshed on request only (KEYLINE_UPDATE_DOCS=1): a test run
// must not rewrite tracked files.
const DOCS = process.env.KEYLINE_UPDATE_DOCS === '1' ? resolve(import.meta.dirname, '../../docs') : t.testdir();

t.test('the console end to end', { skip: noChromium, timeout: 170_000 }, async (t) => {
  const pki = await makeDevPki(t);
  const server = await startTestServer(t, pki);
  const url = server.apiUrl;
  const browser = await launchChromium(t);
  const operator = await (await contextAs(t, browser, pki, url, 'operator')).newPage();
  const officer = await (await contextAs(t, browser, pki, url, 'officer')).newPage();
  const auditor = await (await contextAs(t, browser, pki, url, 'auditor')).newPage();

  await t.test('the operator creates a work order with the form', async (t) => {
    await operator.goto(`${url}/console/work-orders`);
    await operator.getByLabel('Id', { exact: true }).fill('WO-LIVE');
    await operator.getByLabel('Product').fill('Sensor v2');
    await operator.getByLabel('Quota').fill('40');
    await operator.getByLabel('Stations allowed').fill('station-01');
    await operator.getByRole('button', { name: 'Create work order' }).click();
    await operator.waitForURL(/\/console\/work-orders\/WO-LIVE\?/);
    t.match(await operator.getByRole('status').textContent(), 'Work order WO-LIVE created.');
    t.match(await operator.locator('.facts').textContent(), /Quota\s*40/);
    // The auditor sees the order and no form.
    await auditor.goto(`${url}/console/work-orders`);
    t.equal(await auditor.getByRole('link', { name: 'WO-LIVE' }).count(), 1);
    t.equal(await auditor.getByRole('button', { name: 'Create work order' }).count(), 0, 'no create form for the auditor');
  });

  await t.test('a running station updates the line live, and a clone raises an alert', async (t) => {
    await operator.goto(`${url}/console/line`);
    await operator.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    // Long enough for several live updates (a 12-unit run could finish between two).
    const chips = blankChips(24);
    const clone = blankChips(1, { cloneOf: chips[0]! })[0]!;
    // The chips' datasheet timing makes the run last a few seconds: long enough to watch it.
    const kitServer = new KitServer({ chips: [...chips, clone], honourTiming: true });
    const listener = await listenKitTcp(kitServer, { port: 0 });
    t.teardown(() => listener.close());
    const kit = `${listener.host}:${listener.port}`;
    const e = { pki, apiUrl: url } as E2eServer;
    const run = station(e, ['run', '--work-order', 'WO-LIVE', '--count', '25', '--emulator', kit, '--parallel', '1', '--json'],
      { KEYLINE_STATION_JOURNAL: join(t.testdir(), 'journal.db') });
    // Every value the good-units cell takes, recorded in the page as it changes (sampling from
    // here every 250 ms could miss a short run's intermediate values on a fast machine).
    // (A string: the test's transpiler would name a function it ships to the page with a helper the page lacks.)
    await operator.evaluate(`(() => {
      window.goodSeen = [];
      const note = () => window.goodSeen.push(document.querySelector('[data-wo-good="WO-LIVE"]')?.textContent ?? '');
      note();
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    const r = await run;
    t.equal(r.summary?.good, 24, `the station made 24 good units (${r.stderr.slice(-300)})`);
    t.equal(r.summary?.possibleClones, 1, 'and refused the clone');
    await operator.waitForFunction(() => document.querySelector('[data-wo-good="WO-LIVE"]')?.textContent === '24', undefined, { timeout: 10_000 });
    const seen = new Set(await operator.evaluate(() => (window as unknown as { goodSeen: string[] }).goodSeen));
    const counts = [...seen].filter((v) => /^\d+$/.test(v)).map(Number);
    t.ok(counts.some((n) => n > 0 && n < 24), `intermediate counts were shown while the station ran: ${counts.join(', ')}`);
    t.ok(await operator.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true), 'without reloading the page');
    await operator.waitForFunction(() => document.querySelector('#line-alerts')?.textContent?.includes('Clone suspect'), undefined, { timeout: 10_000 });
    t.match(await operator.locator('#line-alerts').textContent(), /possible clone: chip [0-9A-F]{18} presented the public key of unit [0-9A-F]{18}/);
    t.match(await operator.locator('#line-stations').textContent(), /station-01/);
    t.ok(await operator.locator('#line-chart canvas').count() > 0, 'uPlot drew the chart');
    // Keyline's own registry is written with each unit (no outbox job): its count is what shows.
    // In a second tab: the next steps watch this one's live line.
    const prereg = await operator.context().newPage();
    await prereg.goto(`${url}/console/preregistration`);
    t.equal(await prereg.locator('[data-registered="self"]').textContent(), '24', 'the preregistration page counts the 24 units registered with Keyline\'s own registry');
    await prereg.close();
  });

  await t.test('a station reports a pause; the line says so', async (t) => {
    const st = clientFor(t, pki, url);
    const until = new Date(Date.now() - 1000).toISOString();
    const since = new Date(Date.now() - 31_000).toISOString();
    const r = await st.raw('POST', '/v1/line/pauses', { workOrder: 'WO-LIVE', since, until, reason: 'line paused: server unreachable, retrying in 8s' });
    t.equal(r.status, 200);
    await operator.waitForFunction(() => document.querySelector('#line-alerts')?.textContent?.includes('Paused'), undefined, { timeout: 10_000 });
    t.match(await operator.locator('#line-alerts').textContent(), /station-01 paused .* \(30 s\): line paused: server unreachable/);
    mkdirSync(DOCS, { recursive: true });
    await operator.screenshot({ path: join(DOCS, 'console-line.png'), fullPage: true });
  });

  const st = clientFor(t, pki, url);
  const issue = async () => {
    const u = await st.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-LIVE' });
    await st.confirmUnit(u.serial, u.fingerprintSha256);
    return u;
  };

  await t.test('the officer releases a quarantined unit; the operator\'s forged release is refused', async (t) => {
    const u = await st.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-LIVE' });
    await st.quarantineUnit(u.serial, 'readback mismatch at slot 10');
    await officer.goto(`${url}/console/quarantine`);
    t.match(await officer.locator('.card').filter({ hasText: u.serial }).textContent(), 'readback mismatch at slot 10');
    // The operator sees the list but no forms, and a release it forges is refused by the route table.
    await operator.goto(`${url}/console/work-orders`);
    const csrf = await operator.locator('input[name=csrf]').first().inputValue();
    await operator.goto(`${url}/console/quarantine`);
    t.equal(await operator.getByRole('button', { name: `Release ${u.serial}` }).count(), 0, 'no release form for the operator');
    const [forged] = await Promise.all([
      operator.waitForNavigation(),
      operator.evaluate(({ serial, csrf }) => {
        const f = document.createElement('form');
        f.method = 'post';
        f.action = `/console/units/${serial}/release`;
        for (const [k, v] of Object.entries({ csrf, reason: 'operator says fine' })) {
          const i = document.createElement('input');
          i.name = k;
          i.value = v;
          f.append(i);
        }
        document.body.append(f);
        f.submit();
      }, { serial: u.serial, csrf }),
    ]);
    t.equal(forged?.status(), 403, 'the wrong role is refused');
    t.match(await operator.locator('h1').textContent(), 'FORBIDDEN');
    t.match(await operator.getByRole('alert').textContent(), /needs the role security-officer; 'operator-01' is operator/);
    // The officer releases it.
    await officer.getByLabel('Release reason').first().fill('re-tested on the bench: good');
    await officer.getByRole('button', { name: `Release ${u.serial}` }).click();
    await officer.waitForURL(/done=released/);
    t.match(await officer.getByRole('status').textContent(), `Unit ${u.serial} released from quarantine.`);
    t.match(await operatorFor(t, pki, url).getUnit(u.serial), { status: 'issued' });
  });

  await t.test('the officer scraps a quarantined unit: its certificate is revoked', async (t) => {
    const u = await issue();
    await officerFor(t, pki, url).raw('POST', `/v1/units/${u.serial}/quarantine`, { reason: 'cracked housing' });
    await officer.goto(`${url}/console/units/${u.serial}`);
    await officer.getByLabel('Scrap reason').fill('housing cracked: destroyed');
    await officer.getByLabel('Revoke its certificate for good').check();
    await officer.getByRole('button', { name: `Scrap ${u.serial}` }).click();
    await officer.waitForURL(/done=scrapped/);
    t.match(await officer.locator(`[data-ocsp="${u.certificateSerial}"]`).textContent(), 'revoked');
  });

  await t.test('the officer revokes a unit: the CRL number moves and OCSP answers revoked', async (t) => {
    const u = await issue();
    await officer.goto(`${url}/console/revocation?serial=${u.serial}`);
    const before = Number(await officer.locator('#crl-number').textContent());
    await officer.getByLabel('Reason').selectOption('keyCompromise');
    await officer.getByLabel('Type the target again to confirm').fill(u.serial);
    await officer.getByRole('button', { name: 'Revoke' }).click();
    await officer.waitForURL(/done=revoked/);
    t.match(await officer.getByRole('status').textContent(), `Revoked ${u.serial} (1 certificate(s)).`);
    t.ok(Number(await officer.locator('#crl-number').textContent()) > before, 'a new CRL was issued');
    t.match(await officer.locator(`[data-ocsp="${u.certificateSerial}"]`).textContent(), 'revoked');

    // Its story, found by fingerprint.
    await auditor.goto(`${url}/console/units`);
    await auditor.getByLabel('Chip serial, certificate fingerprint or certificate serial').fill(u.fingerprintSha256);
    await auditor.getByRole('button', { name: 'Find unit' }).click();
    await auditor.waitForURL(new RegExp(`/console/units/${u.serial}$`));
    const story = await auditor.locator('.timeline').textContent();
    for (const action of ['unit.issued', 'unit.confirmed', 'certificate.revoke']) t.match(story, action, `the story has ${action}`);
    t.match(await auditor.locator('.facts').first().textContent(), /keyCompromise/);
    await auditor.locator('summary', { hasText: 'Decoded certificate' }).click();
    t.match(await auditor.locator('pre.cert').first().textContent(), /Subject Public Key Info/);
    await auditor.screenshot({ path: join(DOCS, 'console-unit-story.png'), fullPage: true });
  });

  await t.test('the audit page: the chain intact, its head, the export', async (t) => {
    await auditor.goto(`${url}/console/audit`);
    t.match(await auditor.locator('#chain-status').textContent(), /Intact: \d+ records verified/);
    const [download] = await Promise.all([auditor.waitForEvent('download'), auditor.getByRole('link', { name: 'Export the log (NDJSON)' }).click()]);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; action: string });
    t.equal(lines[0]!.seq, 1);
    t.ok(lines.some((l) => l.action === 'unit.scrapped'), 'the export holds the scrapping');
  });

  await t.test('a cross-site post is refused before anything changes (CSRF)', async (t) => {
    const post = (headers: Record<string, string>, body: string) => new Promise<{ status: number; body: string }>((done, fail) => {
      const req = request(`${url}/console/work-orders`, {
        method: 'POST', ca: readFileSync(pki.rootCertPath), cert: readFileSync(pki.operatorCertPath), key: readFileSync(pki.operatorKeyPath),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c)).on('end', () => done({ status: res.statusCode ?? 0, body: b }));
      });
      req.on('error', fail);
      req.end(body);
    });
    const form = 'id=WO-EVIL&product=X&quota=100000&csrf=x';
    const evil = await post({ origin: 'https://evil.example' }, form);
    t.same([evil.status, JSON.parse(evil.body).error.code], [403, 'CSRF_REJECTED']);
    const noToken = await post({ origin: new URL(url).origin }, form);
    t.same([noToken.status, JSON.parse(noToken.body).error.code], [403, 'CSRF_REJECTED'], 'same origin without the session\'s token');
    await t.rejects(operatorFor(t, pki, url).getWorkOrder('WO-EVIL'), { code: 'UNKNOWN_WORK_ORDER' });
  });
});
