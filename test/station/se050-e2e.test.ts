/**
 * Issue 15 end to end: `keyline station run` as its own process against the real server
 * (SoftHSM, SQLite, HTTPS + mTLS, the dev ceremony's SE050 manufacturer root trusted) and SE050
 * cards served over JRCP v1, one port each, from this process: the endpoint says which chip it
 * serves. Certificates read back from the cards verify with openssl; the server records each
 * unit's attested key origin as verified, on a work order that requires it; kill -9 at several
 * steps then a rerun; a part of the wrong chip among them quarantined.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { toPem } from '../../common/pem.js';
import { loadManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import type { Se050Chip } from '../../emulator/se050/chip.js';
import { createSe050Chip } from '../../emulator/se050/factory.js';
import { InProcessApduTransport } from '../../emulator/se050/in-process-apdu-transport.js';
import { JrcpServer } from '../../emulator/se050/jrcp/jrcp-server.js';
import { listenJrcpTcp } from '../../emulator/se050/jrcp/tcp.js';
import { Se05xDevice } from '../../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../../secure-element/se05x/se05x-secure-element.js';
import { blankChips } from './harness.js';
import { serialOf, serveChips, startE2eServer, station, type E2eServer } from './e2e-helpers.js';
import { uidOf } from './se050-harness.js';

let e: E2eServer;
t.before(async () => {
  e = await startE2eServer(t);
});

/** Cards as NXP ships them, attested by the dev ceremony's manufacturer root. */
async function cards(n: number): Promise<Se050Chip[]> {
  const root = await loadManufacturerRoot(e.pki.outDir);
  return Promise.all(Array.from({ length: n }, (_, i) => createSe050Chip({ root, applet: i % 2 ? '7.2' : '3.1' })));
}

/** Serves each card over JRCP on its own free port; the `--emulator` value. */
async function serveCards(t: Test, chips: Se050Chip[]): Promise<string> {
  const eps: string[] = [];
  for (const chip of chips) {
    const l = await listenJrcpTcp(new JrcpServer({ chip, honourTiming: false }), { port: 0 });
    t.teardown(() => l.close());
    eps.push(`${l.host}:${l.port}`);
  }
  return eps.join(',');
}

const createWorkOrder = (id: string, quota: number, requireAttestation = false) =>
  e.api.createWorkOrder({ id, product: 'Sensor', quota, chip: 'se050', ...(requireAttestation ? { requireAttestation } : {}) });

const run = (workOrder: string, count: number, endpoints: string, journal: string, extra: string[] = [], env: Record<string, string> = {}) =>
  station(e, ['run', '--work-order', workOrder, '--count', String(count), '--emulator', endpoints, '--json', ...extra], { KEYLINE_STATION_JOURNAL: journal, ...env });

t.test('SE050 cards on a work order requiring attestation: good, key origin verified, certificates verify with openssl', async (t) => {
  await createWorkOrder('WO-SE-E2E', 6, true);
  const chips = await cards(6);
  const r = await run('WO-SE-E2E', 6, await serveCards(t, chips), join(t.testdir(), 'journal.db'), ['--parallel', '3']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.summary, { good: 6, quarantined: 0, stopReason: 'done' });
  t.equal((await e.api.getWorkOrder('WO-SE-E2E')).issued, 6);
  const dir = t.testdir();
  for (const chip of chips) {
    const serial = uidOf(chip);
    const u = await e.api.getUnit(serial);
    t.match(u, { status: 'confirmed', keyOrigin: { chip: 'se050', format: 'se05x-attested-read', status: 'verified', reason: null } }, serial);
    t.ok(r.labels.includes(`label serial=${serial} fingerprint=${u.fingerprintSha256}`));
    // Independently: what the card holds, checked by openssl against the dev root.
    const se = new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(chip)));
    const { device, chain } = await se.readCertificates();
    t.equal(chain.length, 1, 'the issuing CA in 20000003, the root not stored');
    writeFileSync(join(dir, 'chain.pem'), toPem(chain[0]!));
    writeFileSync(join(dir, `${serial}.pem`), toPem(device));
    const out = execFileSync('openssl', ['verify', '-CAfile', e.pki.rootCertPath, '-untrusted', join(dir, 'chain.pem'), join(dir, `${serial}.pem`)], { encoding: 'utf8' });
    t.match(out, /: OK/, `openssl verifies the certificate read from ${serial}`);
    const text = execFileSync('openssl', ['x509', '-in', join(dir, `${serial}.pem`), '-noout', '-subject'], { encoding: 'utf8' });
    t.match(text, new RegExp(`CN ?= ?${serial}`));
  }
});

for (const step of ['keyed', 'issued-unrecorded', 'written', 'confirmed-unrecorded']) {
  t.test(`SE050: kill -9 after '${step}', rerun: resumes, no unit lost, none issued twice`, async (t) => {
    const wo = `WO-SE-KILL-${step}`;
    await createWorkOrder(wo, 4, true);
    const chips = await cards(4);
    const endpoints = await serveCards(t, chips);
    const jf = join(t.testdir(), 'journal.db');
    const first = await run(wo, 4, endpoints, jf, ['--parallel', '2'], { KEYLINE_STATION_CRASH_AT: `${step}:2` });
    t.equal(first.signal, 'SIGKILL', 'the first run died by SIGKILL');
    const second = await run(wo, 4, endpoints, jf, ['--parallel', '2']);
    t.equal(second.code, 0, second.stderr);
    t.match(second.summary, { good: 4, quarantined: 0, stopReason: 'done' });
    t.equal((await e.api.getWorkOrder(wo)).issued, 4, 'four certificates, none issued twice (quota 4 would refuse a fifth)');
    for (const c of chips) t.match(await e.api.getUnit(uidOf(c)), { status: 'confirmed', keyOrigin: { status: 'verified' } });
    t.equal(new Set([...first.labels, ...second.labels]).size, 4, 'four labels across both runs');
  });
}

t.test('a kit endpoint and JRCP endpoints in one run: the ATECC608 part is quarantined (CHIP_MISMATCH), the cards provisioned', async (t) => {
  await createWorkOrder('WO-SE-MIX', 2);
  const [part] = blankChips(1);
  const kit = await serveChips(t, [part!]);
  const chips = await cards(2);
  const r = await run('WO-SE-MIX', 2, `${kit},${await serveCards(t, chips)}`, join(t.testdir(), 'journal.db'));
  t.equal(r.code, 0, r.stderr);
  t.match(r.summary, { good: 2, quarantined: 1, quarantinedUnits: [{ serial: serialOf(part!), reason: /^CHIP_MISMATCH: work order WO-SE-MIX is for se050 parts; kit 127\.0\.0\.1:\d+ #0 holds an atecc608$/ }] });
  t.notOk(part!.state.configLocked(), 'the ATECC608 was not touched');
});
