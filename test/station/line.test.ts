/**
 * The line's logic over an in-process backend and emulated chips: good units, faults quarantined,
 * clones flagged, the quota stopping the line, a server outage waited out, and resumes from the
 * journal after a crash at every step.
 */
import { join } from 'node:path';
import t from 'tap';
import { KitServer } from '../../emulator/kit/kit-server.js';
import { keylineProfile } from '../../station/chip-steps.js';
import { KitHidChipSource, KitTcpChipSource } from '../../station/chip-source.js';
import { listenKitTcp } from '../../emulator/kit/tcp.js';
import { type Socket } from 'node:net';
import { FakeHidKit } from '../secure-element/transports/fake-hid-kit.js';
import { Journal } from '../../station/journal.js';
import { blankChips, makeBackend, runOver } from './harness.js';
import { AteccDevice } from '../../secure-element/device.js';
import { InProcessTransport } from '../../emulator/in-process-transport.js';
import { startCuttableRelay } from '../helpers/net.js';
import { OPERATOR } from '../helpers/actors.js';

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
    const u = await b.prov.getUnit(serial, OPERATOR);
    t.equal(u.status, 'confirmed');
    t.equal(u.fingerprintSha256, rec.fingerprintSha256);
    t.ok(labels.includes(`label serial=${serial} fingerprint=${rec.fingerprintSha256}`));
    t.ok(chip.state.configLocked() && chip.state.dataLocked());
    for (const s of [0, 10, 11, 12]) t.ok(chip.state.slotLocked(s), `slot ${s} locked`);
  }
  // The same command again: the count is already met, nothing is taken.
  const again = await runOver(b, chips, jf, { target: 6, parallel: 3 });
  t.match(again.result, { stopReason: 'done', good: 6, goodThisRun: 0 });
  t.equal(again.out, '');
});

t.test('issue 13: units ready together go out as one batch; one at a time as single requests', async (t) => {
  const b = await makeBackend(t);
  const { result } = await runOver(b, blankChips(12), join(t.testdir(), 'j.db'), { target: 12, parallel: 6 });
  t.match(result, { stopReason: 'done', good: 12 });
  t.ok(b.issued.batches.length > 0, 'batches were sent');
  t.equal(b.issued.singles + b.issued.batches.reduce((a, n) => a + n, 0), 12, 'every unit asked for once');
  t.ok(b.issued.batches.every((n) => n >= 2 && n <= 100));
  t.equal((await b.prov.getWorkOrder('WO-1', OPERATOR)).issued, 12);

  const one = await makeBackend(t);
  await runOver(one, blankChips(3), join(t.testdir(), 'j1.db'), { target: 3, parallel: 1 });
  t.same(one.issued, { singles: 3, batches: [] }, 'a line of one never waits for company');
});

t.test('a chip fault quarantines the unit with its reason; it is never good', async (t) => {
  const b = await makeBackend(t);
  // Deterministic: the 10th command (while the config zone is written) and every one after it fail.
  let draws = 0;
  const faulty = blankChips(1, { faults: { executionErrorRate: 0.5, rng: () => (++draws >= 10 ? 0 : 1) } });
  const fine = blankChips(2);
  const jf = join(t.testdir(), 'j.db');
  const { result, err } = await runOver(b, [faulty[0]!, ...fine], jf, { target: 3, parallel: 1 });
  t.equal(result.good, 2);
  t.equal(result.quarantined, 1);
  t.equal(result.stopReason, 'no-chips');
  const serial = Buffer.from(faulty[0]!.serialNumber).toString('hex').toUpperCase();
  t.match(result.quarantinedUnits, [{ serial, reason: /ATCA_EXECUTION_ERROR/, possibleClone: false }]);
  t.match(err, new RegExp(`quarantined ${serial}`));
  await t.rejects(b.prov.getUnit(serial, OPERATOR), { code: 'UNKNOWN_UNIT' }, 'nothing was issued for a part that failed before its key');
});

t.test('a fault after issuance quarantines the unit on the server too', async (t) => {
  const b = await makeBackend(t);
  const [chip] = blankChips(1);
  const jf = join(t.testdir(), 'j.db');
  // The certificate writes fail: break the chip right after the server answered.
  const { result } = await runOver(b, [chip!], jf, {
    target: 1,
    parallel: 1,
    onStep: (step) => {
      if (step === 'issued') (chip as unknown as { faults: unknown }).faults = { inactive: false, next: () => 'execution-error', dropWake: () => false };
    },
  });
  t.equal(result.good, 0);
  t.equal(result.quarantined, 1);
  const serial = Buffer.from(chip!.serialNumber).toString('hex').toUpperCase();
  const u = await b.prov.getUnit(serial, OPERATOR);
  t.equal(u.status, 'quarantined', 'the issued certificate is quarantined on the server');
});

t.test('a cloned part is refused by the server and flagged as a possible clone', async (t) => {
  const b = await makeBackend(t);
  const [original] = blankChips(1);
  const clone = blankChips(1, { cloneOf: original! })[0]!;
  const jf = join(t.testdir(), 'j.db');
  const { result, err } = await runOver(b, [original!, clone], jf, { target: 2, parallel: 1 });
  t.equal(result.good, 1);
  t.equal(result.possibleClones, 1);
  const cloneSerial = Buffer.from(clone.serialNumber).toString('hex').toUpperCase();
  t.match(result.quarantinedUnits, [{ serial: cloneSerial, possibleClone: true, reason: /possible clone/ }]);
  t.match(err, /possible clone/);
  await t.rejects(b.prov.getUnit(cloneSerial, OPERATOR), { code: 'UNKNOWN_UNIT' });
});

t.test('quota exceeded stops the line cleanly with the count done; a later run resumes', async (t) => {
  const b = await makeBackend(t, { quota: 3 });
  const chips = blankChips(5);
  const jf = join(t.testdir(), 'j.db');
  const { result, err } = await runOver(b, chips, jf, { target: 5, parallel: 1 });
  t.equal(result.stopReason, 'quota-exceeded');
  t.equal(result.good, 3);
  t.equal(result.quarantined, 0);
  t.match(err, /line stopped: QUOTA_EXCEEDED/);
  const wo = await b.prov.getWorkOrder('WO-1', OPERATOR);
  t.equal(wo.issued, 3);
  // The unit that met the quota is kept, keyed and pending, for a later run.
  const j = new Journal(jf);
  t.teardown(() => j.close());
  const pending = j.list().filter((u) => u.status === 'pending');
  t.equal(pending.length, 1);
  t.equal(pending[0]!.step, 'keyed');
  t.match(pending[0]!.reason, /QUOTA_EXCEEDED/);
});

t.test('server unreachable: the line pauses with a message and resumes by itself', async (t) => {
  const b = await makeBackend(t);
  const chips = blankChips(3);
  b.down.remaining = 4;
  const jf = join(t.testdir(), 'j.db');
  const { result, err } = await runOver(b, chips, jf, { target: 3, parallel: 1 });
  t.equal(result.stopReason, 'done');
  t.equal(result.good, 3);
  t.match(err, /line paused: server unreachable, retrying in \d/);
  t.match(err, /line resumed/);
  // Issue 18: the outage is reported once the server answers again, so the console can show it.
  await new Promise((r) => setTimeout(r, 50));
  t.equal(b.pauses.length, 1, 'one report for the whole outage');
  t.match(b.pauses[0], { workOrder: result.workOrder, reason: /line paused: server unreachable/ });
  t.ok(b.pauses[0]!.since <= b.pauses[0]!.until);
});

const CRASH_STEPS = ['started', 'configured', 'keyed', 'issued-unrecorded', 'issued', 'written', 'verified', 'locked', 'confirmed-unrecorded', 'confirmed'];

for (const step of CRASH_STEPS) {
  t.test(`crash after '${step}' then rerun: every unit good once, nothing issued twice`, async (t) => {
    const b = await makeBackend(t);
    const chips = blankChips(4);
    const jf = join(t.testdir(), 'j.db');
    await t.rejects(runOver(b, chips, jf, { target: 4, parallel: 2, crashAt: { step, n: 2 } }));
    const again = await runOver(b, chips, jf, { target: 4, parallel: 2 });
    t.equal(again.result.good, 4, 'all four good after the rerun');
    t.equal(again.result.quarantined, 0);
    const wo = await b.prov.getWorkOrder('WO-1', OPERATOR);
    t.equal(wo.issued, 4, 'the server issued exactly four certificates');
    const listed = await b.prov.listUnits({ workOrder: 'WO-1' });
    t.equal(new Set(listed.units.map((u) => u.serial)).size, 4);
    t.ok(listed.units.every((u) => u.status === 'confirmed'), 'every unit confirmed');
  });
}

t.test('a chip that cannot even be read is rejected, not journaled', async (t) => {
  const b = await makeBackend(t);
  const dead = blankChips(1, { faults: { executionErrorRate: 1, rng: () => 0 } });
  const jf = join(t.testdir(), 'j.db');
  const { result, err } = await runOver(b, [dead[0]!, ...blankChips(1)], jf, { target: 2, parallel: 1 });
  t.equal(result.good, 1);
  t.equal(result.stopReason, 'no-chips');
  t.match(err, /rejected in-process #0: cannot read the chip \(ATCA_EXECUTION_ERROR/);
});

t.test('a config that would make GenKey fail is never locked; the part is quarantined', async (t) => {
  const b = await makeBackend(t);
  const good = keylineProfile();
  // The classic mistake: slot 0 KeyType 7 (not an ECC key), KeyConfig bytes 96-97.
  const profile = { ...good, configZone: () => { const c = good.configZone(); c[96] = 0x1c; c[97] = 0x00; return c; } };
  const [chip] = blankChips(1);
  const { result } = await runOver(b, [chip!], join(t.testdir(), 'j.db'), { target: 1, parallel: 1, profile });
  t.equal(result.quarantined, 1);
  t.match(result.quarantinedUnits[0]!.reason, /unfit to lock: slot 0 KeyConfig.KeyType is 7/);
  t.notOk(chip!.state.configLocked(), 'the config zone was not locked');
});

t.test('--hid: one chip per Microchip kit, through the HID report framing', async (t) => {
  const b = await makeBackend(t);
  const chips = blankChips(2);
  const kits = chips.map((c) => new FakeHidKit(new KitServer({ chips: [c], honourTiming: false })));
  const hid = {
    devicesAsync: async () => [
      ...kits.map((_, i) => ({ path: `fake-hid-${i}`, vendorId: 0x03eb, productId: 0x2312 })),
      { path: 'a-mouse', vendorId: 0x046d, productId: 0xc077 },
    ],
    HIDAsync: { open: async (path: string) => kits[Number(path.slice('fake-hid-'.length))]! },
  };
  const source = await KitHidChipSource.open({ hid });
  const { result } = await runOver(b, chips, join(t.testdir(), 'j.db'), { target: 2, parallel: 2, source });
  t.equal(result.good, 2);
  t.ok(kits.every((k) => k.violations.length === 0), 'every report framed as hal_kit_hid frames it');
});

t.test('a kit link lost mid-unit pauses the unit (not a chip fault) and takes it again on a new link', async (t) => {
  const b = await makeBackend(t);
  const chips = blankChips(3);
  const kit = await listenKitTcp(new KitServer({ chips, honourTiming: false }), { port: 0 });
  t.teardown(() => kit.close());
  // A relay in front of the kit whose connections the test cuts, as a pulled cable would.
  const live = new Set<Socket>();
  const source = await KitTcpChipSource.open([await startCuttableRelay(t, kit, live)]);
  t.teardown(() => source.close());
  let cut = false;
  const { result, err } = await runOver(b, chips, join(t.testdir(), 'j.db'), {
    target: 3,
    parallel: 1,
    source,
    onStep: (step) => {
      if (step === 'issued' && !cut) {
        cut = true;
        for (const s of live) s.destroy();
      }
    },
  });
  t.match(err, /paused [0-9A-F]{18}: kit link lost at kit 127\.0\.0\.1:\d+ #0: ATCA_(COMM_ERROR|WAKE_FAILED)[^\n]*it will be taken again/);
  t.equal(result.quarantined, 0, 'no chip blamed for the link');
  t.equal(result.good, 3, 'the paused unit finished on a new link');
  t.equal((await b.prov.getWorkOrder('WO-1', OPERATOR)).issued, 3);
});

t.test('interrupted (Ctrl-C): the unit in progress finishes, no new chip is taken', async (t) => {
  const b = await makeBackend(t);
  const chips = blankChips(3);
  const ac = new AbortController();
  const { result } = await runOver(b, chips, join(t.testdir(), 'j.db'), { target: 3, parallel: 1, signal: ac.signal, onStep: (s) => s === 'issued' && ac.abort() });
  t.match(result, { stopReason: 'interrupted', good: 1, quarantined: 0 });
  t.notOk(chips[1]!.state.configLocked(), 'the next chip was not touched');
});

t.test('a certificate the journal never recorded is not left orphaned when the part turns bad', async (t) => {
  const b = await makeBackend(t);
  const [chip] = blankChips(1);
  const jf = join(t.testdir(), 'j.db');
  // The server issues, then the station dies before recording it...
  await t.rejects(runOver(b, [chip!], jf, { target: 1, parallel: 1, crashAt: { step: 'issued-unrecorded', n: 1 } }));
  const serial = Buffer.from(chip!.serialNumber).toString('hex').toUpperCase();
  t.equal((await b.prov.getUnit(serial, OPERATOR)).status, 'issued');
  // ...and the part's key is no longer the one the journal holds (a swapped or tampered part).
  await new AteccDevice(new InProcessTransport(chip!)).genKey(0);
  const { result } = await runOver(b, [chip!], jf, { target: 1, parallel: 1 });
  t.match(result.quarantinedUnits, [{ serial, reason: /not the key the journal recorded/ }]);
  t.equal((await b.prov.getUnit(serial, OPERATOR)).status, 'quarantined', 'the issued certificate is quarantined on the server');
});
