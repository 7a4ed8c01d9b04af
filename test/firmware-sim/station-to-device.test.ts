/**
 * Issue 15 from the line to the field: the station's own line code (runLine, in this process)
 * provisions SE050 cards and ATECC608 parts on two work orders of the real server (SoftHSM,
 * SQLite, HTTPS + mTLS), and the devices then boot from those very chips as one mixed fleet
 * against the embedded broker: what the station wrote into each chip (SE050 objects, ATECC608
 * compressed slots) is what the device reads, verifies and enrolls with.
 */
import t from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { chipFileName } from '../../emulator/chip-dir.js';
import { se050FileName } from '../../emulator/se050/chip-dir.js';
import { createSe050Chip } from '../../emulator/se050/factory.js';
import { saveSe050Image } from '../../emulator/se050/image.js';
import { bootFleet, listChipImages } from '../../firmware-sim/fleet.js';
import { trustFromFactoryConfig } from '../../firmware-sim/firmware-trust.js';
import type { StationApiClient } from '../../station/api-client.js';
import { CertChecker } from '../../station/cert-check.js';
import { InProcessChipSource, type ChipSource } from '../../station/chip-source.js';
import { keylineProfile } from '../../station/chip-steps.js';
import { Journal } from '../../station/journal.js';
import { runLine } from '../../station/line.js';
import { Progress } from '../../station/progress.js';
import { InProcessSe050ChipSource } from '../../station/se050-chip-source.js';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, operatorFor, startTestServer } from '../helpers/server.js';

const PRODUCT = 'Field Sensor';

t.test('the station provisions both chips, the devices boot from them as one fleet', async (t) => {
  const pki = await makeDevPki(t);
  const server = await startTestServer(t, pki);
  const api = clientFor(t, pki, server.apiUrl);
  const operator = operatorFor(t, pki, server.apiUrl);
  await operator.createWorkOrder({ id: 'WO-SE', product: PRODUCT, quota: 10, chip: 'se050', requireAttestation: true });
  await operator.createWorkOrder({ id: 'WO-608', product: PRODUCT, quota: 10 });
  const dir = join(dirname(pki.outDir), 'field');
  mkdirSync(dir);
  const line = async (workOrder: string, source: ChipSource, n: number, c: StationApiClient) => {
    const journal = new Journal(join(dirname(pki.outDir), 'journal.db'));
    try {
      return await runLine(
        { api: c, journal, checker: new CertChecker(readFileSync(pki.rootCertPath, 'utf8')), profile: keylineProfile(), source,
          progress: new Progress({ target: n, alreadyGood: 0, out: { write: () => true }, err: { write: () => true } }) },
        { workOrder, station: 'station-01', target: n, parallel: 2 },
      );
    } finally {
      journal.close();
    }
  };
  const root = await loadManufacturerRoot(pki.outDir);
  const cards = [await createSe050Chip({ root, applet: '3.1' }), await createSe050Chip({ root, applet: '7.2' })];
  const parts = [createBlankChip(), createBlankChip()];
  t.match(await line('WO-SE', new InProcessSe050ChipSource(cards), 2, api), { good: 2, quarantined: 0 });
  t.match(await line('WO-608', new InProcessChipSource(parts), 2, api), { good: 2, quarantined: 0 });
  for (const c of cards) await saveSe050Image(c, join(dir, se050FileName(c)));
  for (const p of parts) await saveChipImage(p, join(dir, chipFileName(p)));

  const brokerUrl = server.mqttUrl!;
  const firstBootTrust = () => trustFromFactoryConfig(pki.configPath, PRODUCT);
  const first = await bootFleet(await listChipImages(dir), { brokerUrl, firstBootTrust, concurrency: 4 });
  t.match(first.summary, { devices: 4, enrolled: 4, refused: {}, failed: {}, chips: { se050: 2, atecc608: 2 } });
  for (const e of first.entries) {
    if (!e.ok) continue;
    const unit = await api.getUnit(e.report.serial);
    t.equal(e.report.fingerprint, unit.fingerprintSha256, `${e.report.chip} ${e.report.serial}: the certificate the device read is the one the station wrote`);
    if (e.report.chip === 'se050') t.match(unit, { keyOrigin: { status: 'verified' } });
  }
  const again = await bootFleet(await listChipImages(dir), { brokerUrl, concurrency: 4 });
  t.match(again.summary, { devices: 4, reauthenticated: 4, chips: { se050: 2, atecc608: 2 } });
  t.same(again.entries.map((e) => (e.ok ? e.report.counter : -1)), [2, 2, 2, 2], 'each chip\'s counter moved once per boot');
});
