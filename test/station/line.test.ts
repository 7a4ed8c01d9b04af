/**
 * The line's logic over an in-process backend and emulated chips: good units, faults quarantined,
 * clones flagged, the quota stopping the line, a server outage waited out, and resumes from the
 * journal after a crash at every step.
 */
import { join } from 'node:path';
import t from 'tap';
import { Journal } from '../../station/journal.js';
import { apiFor, blankChips, makeBackend, runOver } from './harness.js';

t.test('provisions every chip: journal good, server confirmed, one label per unit', async (t) => {
  const b = await makeBackend(t);
  const chips = blankChips(6);
  const jf = join(t.testdir(), 'j.db');
  const { result, out } = await runOver(b, chips, jf, { target: 6, parallel: 3 });
  t.equal(result.stopReason, 'done');
  t.equal(result.good, 6);
  t.equal(result.quarantined, 0);
  const labels = out.trim().split('\n');
  t.equal(labels.length, 6);
  const j = new Journal(jf);
  t.teardown(() => j.close());
  for (const chip of chips) {
    const serial = Buffer.from(chip.serialNumber).toString('hex').toUpperCase();
    const rec = j.get(serial)!;
    t.equal(rec.status, 'good');
    t.equal(rec.step, 'confirmed');
    const u = await b.prov.getUnit(serial);
    t.equal(u.status, 'confirmed');
    t.equal(u.fingerprintSha256, rec.fingerprintSha256);
    t.ok(labels.includes(`label serial=${serial} fingerprint=${rec.fingerprintSha256}`));
    t.ok(chip.state.configLocked() && chip.state.dataLocked());
    for (const s of [0, 10, 11, 12]) t.ok(chip.state.slotLocked(s), `slot ${s} locked`);
  }
});
