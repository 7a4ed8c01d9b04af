/**
 * Issue 15, the line on SE050 parts (in process: the real provisioning service, emulated cards,
 * a real journal): provisioned end to end with their attested key origin verified by the server,
 * on a work order that requires it too; the certificate and chain stored as DER and read back;
 * a crash at every step then a rerun, nothing issued twice; a part of the wrong chip quarantined
 * untouched; a card attested by an untrusted root; a JRCP link cut mid-unit.
 */
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { createManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import { createSe050Chip } from '../../emulator/se050/factory.js';
import { JrcpServer } from '../../emulator/se050/jrcp/jrcp-server.js';
import { listenJrcpTcp } from '../../emulator/se050/jrcp/tcp.js';
import type { Endpoint } from '../../station/chip-source.js';
import { InProcessApduTransport } from '../../emulator/se050/in-process-apdu-transport.js';
import { Se050Object } from '../../secure-element/se05x/object-map.js';
import { Se05xDevice } from '../../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../../secure-element/se05x/se05x-secure-element.js';
import { fromPemAll } from '../../common/pem.js';
import { Journal } from '../../station/journal.js';
import { InProcessSe050ChipSource, JrcpChipSource } from '../../station/se050-chip-source.js';
import { startCuttableRelay } from '../helpers/net.js';
import { OPERATOR } from '../helpers/actors.js';
import { blankChips, runOver } from './harness.js';
import { makeSe050Backend, se050ApiFor, se050Chips, uidOf, WO } from './se050-harness.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

t.test('SE050 parts: good, key origin verified, DER certificate and chain stored and read back', async (t) => {
  const b = await makeSe050Backend(t);
  const chips = [...(await se050Chips(2, '3.1')), ...(await se050Chips(2, '7.2'))];
  const jf = join(t.testdir(), 'j.db');
  for (const workOrder of [WO.se050, WO.required]) {
    const run = chips.splice(0, 2);
    const { result, out } = await runOver(b, [], jf, { target: 2, parallel: 2, workOrder, api: se050ApiFor(b), source: new InProcessSe050ChipSource(run) });
    t.match(result, { stopReason: 'done', good: 2, quarantined: 0 }, workOrder);
    const j = new Journal(jf);
    t.teardown(() => j.close());
    for (const chip of run) {
      const serial = uidOf(chip);
      t.match(serial, /^[0-9A-F]{36}$/);
      const rec = j.get(serial)!;
      t.match(rec, { status: 'good', step: 'confirmed', workOrder });
      t.ok(out.includes(`label serial=${serial} fingerprint=${rec.fingerprintSha256}`));
      const u = await b.prov.getUnit(serial, OPERATOR);
      t.match(u, { status: 'confirmed', fingerprintSha256: rec.fingerprintSha256, keyOrigin: { chip: 'se050', status: 'verified', reason: null } });
      // What the chip holds: exactly the issued DER and the issuing CA, as its objects.
      const se = new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(chip)));
      const stored = await se.readCertificates();
      t.equal(hex(stored.device), hex(rec.certificateDer!), 'device certificate in 20000002 is the issued DER');
      t.same(stored.chain.map(hex), [hex(fromPemAll(rec.chainPem!)[0]!)], 'chain object 20000003 holds the issuing CA, no root');
      t.same(await se.state(), { prepared: true, keyPresent: true, certificatesWritten: true, finalised: true });
      t.equal(hex(await se.publicKey()), rec.publicKey);
    }
  }
});

// The crash-at-every-step harness of the ATECC608 (line.test.ts), on SE050 parts, on a work order
// that requires key-origin evidence: a resumed unit's evidence must be fresh for the same request.
const CRASH_STEPS = ['started', 'configured', 'keyed', 'issued-unrecorded', 'issued', 'written', 'verified', 'locked', 'confirmed-unrecorded', 'confirmed'];

for (const step of CRASH_STEPS) {
  t.test(`SE050: crash after '${step}' then rerun: every unit good once, nothing issued twice`, async (t) => {
    const b = await makeSe050Backend(t);
    const chips = await se050Chips(4);
    const jf = join(t.testdir(), 'j.db');
    const opts = { target: 4, parallel: 2, workOrder: WO.required, api: se050ApiFor(b) };
    await t.rejects(runOver(b, [], jf, { ...opts, source: new InProcessSe050ChipSource(chips), crashAt: { step, n: 2 } }));
    const again = await runOver(b, [], jf, { ...opts, source: new InProcessSe050ChipSource(chips) });
    t.equal(again.result.good, 4, 'all four good after the rerun');
    t.equal(again.result.quarantined, 0);
    t.equal((await b.prov.getWorkOrder(WO.required, OPERATOR)).issued, 4, 'the server issued exactly four certificates');
    const listed = await b.prov.listUnits({ workOrder: WO.required });
    t.same(new Set(listed.units.map((u) => u.serial)), new Set(chips.map(uidOf)));
    t.ok(listed.units.every((u) => u.status === 'confirmed'), 'every unit confirmed');
    for (const c of chips) t.equal((await b.prov.getUnit(uidOf(c), OPERATOR)).keyOrigin?.status, 'verified');
  });
}

t.test('a part of another chip than the work order\'s is quarantined untouched (CHIP_MISMATCH)', async (t) => {
  const b = await makeSe050Backend(t);
  const cards = await se050Chips(2);
  const jf = join(t.testdir(), 'j.db');
  const r = await runOver(b, [], jf, { target: 2, parallel: 1, workOrder: WO.atecc608, api: se050ApiFor(b), source: new InProcessSe050ChipSource(cards) });
  t.match(r.result, { good: 0, quarantined: 2, stopReason: 'no-chips' });
  t.match(r.result.quarantinedUnits, cards.map((c) => ({ serial: uidOf(c), reason: /^CHIP_MISMATCH: work order WO-608 is for atecc608 parts; in-process se050 #\d holds an se050$/ })));
  t.match(r.err, /quarantined [0-9A-F]{36}: CHIP_MISMATCH/);
  const se = new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(cards[0]!)));
  t.same(await se.state(), { prepared: false, keyPresent: false, certificatesWritten: false, finalised: false }, 'nothing written to the part');
  t.notOk(await se.device.exists(Se050Object.ENROLLMENT_COUNTER));
  t.equal((await b.prov.getWorkOrder(WO.atecc608, OPERATOR)).issued, 0, 'nothing asked of the server');

  // And the other way round: ATECC608 parts on an SE050 work order.
  const parts = blankChips(1);
  const r2 = await runOver(b, parts, join(t.testdir(), 'j2.db'), { target: 1, parallel: 1, workOrder: WO.se050, api: se050ApiFor(b) });
  t.match(r2.result.quarantinedUnits, [{ reason: /^CHIP_MISMATCH: work order WO-SE is for se050 parts; in-process #0 holds an atecc608$/ }]);
  t.notOk(parts[0]!.state.configLocked(), 'the config zone was not touched');
});

t.test('a card attested by another manufacturer root: quarantined where evidence is required, recorded invalid where not', async (t) => {
  const b = await makeSe050Backend(t);
  const elsewhere = await createManufacturerRoot({ org: 'Elsewhere' });
  const foreign = () => createSe050Chip({ root: elsewhere, applet: '3.1' });
  const [a, c] = [await foreign(), await foreign()];
  const r = await runOver(b, [], join(t.testdir(), 'j.db'), { target: 1, parallel: 1, workOrder: WO.required, api: se050ApiFor(b), source: new InProcessSe050ChipSource([a]) });
  t.match(r.result, { good: 0, quarantined: 1, quarantinedUnits: [{ serial: uidOf(a), reason: /server refused the part: ATTESTATION_INVALID: .*not issued by a trusted manufacturer root/ }] });
  await t.rejects(b.prov.getUnit(uidOf(a), OPERATOR), { code: 'UNKNOWN_UNIT' }, 'nothing issued');
  const r2 = await runOver(b, [], join(t.testdir(), 'j2.db'), { target: 1, parallel: 1, workOrder: WO.se050, api: se050ApiFor(b), source: new InProcessSe050ChipSource([c]) });
  t.match(r2.result, { good: 1, quarantined: 0 });
  t.match(await b.prov.getUnit(uidOf(c), OPERATOR), { status: 'confirmed', keyOrigin: { status: 'invalid', reason: /not issued by a trusted manufacturer root/ } });
});

t.test('a JRCP link lost mid-unit pauses the unit (not a card fault) and takes the card again on a new link', async (t) => {
  const b = await makeSe050Backend(t);
  const cards = await se050Chips(2);
  const live = new Set<Socket>();
  const eps: Endpoint[] = [];
  for (const card of cards) {
    const l = await listenJrcpTcp(new JrcpServer({ chip: card, honourTiming: false }), { port: 0 });
    t.teardown(() => l.close());
    // A relay in front of each card whose connections the test cuts, as a pulled cable would.
    eps.push(await startCuttableRelay(t, l, live));
  }
  let cut = false;
  const { result, err } = await runOver(b, [], join(t.testdir(), 'j.db'), {
    target: 2, parallel: 1, workOrder: WO.required, api: se050ApiFor(b), source: new JrcpChipSource(eps),
    onStep: (step) => {
      if (step === 'issued' && !cut) {
        cut = true;
        for (const s of live) s.destroy();
      }
    },
  });
  t.match(err, /paused [0-9A-F]{36}: JRCP link lost at jrcp 127\.0\.0\.1:\d+: SE05X_COMM_ERROR[^\n]*it will be taken again/);
  t.match(result, { good: 2, quarantined: 0 }, 'no card blamed for the link; the paused unit finished on a new link');
  t.equal((await b.prov.getWorkOrder(WO.required, OPERATOR)).issued, 2);
});

t.test('ATECC608 units send their config zone: recorded unattested, whether the line locked it now or on an earlier run', async (t) => {
  const b = await makeSe050Backend(t);
  const parts = blankChips(4);
  const jf = join(t.testdir(), 'j.db');
  // Two units stop after 'configured' (their evidence is read back from the chip on the rerun), two run through.
  await t.rejects(runOver(b, parts, jf, { target: 4, parallel: 2, workOrder: WO.atecc608, api: se050ApiFor(b), crashAt: { step: 'configured', n: 2 } }));
  const r = await runOver(b, parts, jf, { target: 4, parallel: 2, workOrder: WO.atecc608, api: se050ApiFor(b) });
  t.match(r.result, { good: 4, quarantined: 0 });
  for (const p of parts) {
    const u = await b.prov.getUnit(Buffer.from(p.serialNumber).toString('hex').toUpperCase(), OPERATOR);
    t.match(u.keyOrigin, { chip: 'atecc608', format: 'atecc608-unattested', status: 'unattested' });
  }
});

t.test('a card whose JRCP endpoint is gone is rejected; the other cards are provisioned', async (t) => {
  const b = await makeSe050Backend(t);
  const [card] = await se050Chips(1);
  const l = await listenJrcpTcp(new JrcpServer({ chip: card!, honourTiming: false }), { port: 0 });
  t.teardown(() => l.close());
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const deadPort = (gone.address() as { port: number }).port;
  await new Promise<void>((r) => gone.close(() => r()));
  const source = new JrcpChipSource([{ host: '127.0.0.1', port: deadPort }, { host: l.host, port: l.port }]);
  const { result, err } = await runOver(b, [], join(t.testdir(), 'j.db'), { target: 1, parallel: 1, workOrder: WO.se050, api: se050ApiFor(b), source });
  t.match(result, { good: 1, quarantined: 0, stopReason: 'done' });
  t.match(err, new RegExp(`rejected jrcp 127\\.0\\.0\\.1:${deadPort}: cannot read the chip \\(SE05X_COMM_ERROR: cannot connect`));
});

t.test('an unknown work order stops the line before any chip is touched', async (t) => {
  const b = await makeSe050Backend(t);
  const cards = await se050Chips(1);
  const r = await runOver(b, [], join(t.testdir(), 'j.db'), { target: 1, parallel: 1, workOrder: 'WO-NONE', api: se050ApiFor(b), source: new InProcessSe050ChipSource(cards) });
  t.match(r.result, { stopReason: 'error', good: 0, quarantined: 0 });
  t.match(r.err, /line stopped: work order WO-NONE: UNKNOWN_WORK_ORDER/);
});
