/**
 * Issue 4 end to end: `keyline station run` as its own process against the real server
 * (SoftHSM, SQLite, HTTPS + mTLS) and emulated chips over the kit TCP protocol. A 200-unit run
 * checked three ways (journal, server, openssl); kill -9 at several steps and resume; a chip
 * fault, the quota, a cloned part and a server outage.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { fromPemAll, toPem } from '../../common/pem.js';
import { Journal } from '../../station/journal.js';
import { blankChips } from './harness.js';
import { serialOf, serveChips, startE2eServer, station, type E2eServer } from './e2e-helpers.js';

let e: E2eServer;
t.before(async () => {
  e = await startE2eServer(t);
});

const listUnits = async (workOrder: string) => {
  const r = await e.api.raw('GET', `/v1/units?workOrder=${workOrder}&limit=1000`);
  return (r.body as { units: Array<{ serial: string; status: string; fingerprintSha256: string }> }).units;
};

const run = (workOrder: string, count: number, kit: string, journal: string, extra: string[] = [], env: Record<string, string> = {}) =>
  station(e, ['run', '--work-order', workOrder, '--count', String(count), '--emulator', kit, '--json', ...extra], { KEYLINE_STATION_JOURNAL: journal, ...env });

t.test('200 units: all good; journal, server and openssl agree', async (t) => {
  await e.createWorkOrder('WO-200', 200);
  const chips = blankChips(200);
  const kit = await serveChips(t, chips);
  const dir = t.testdir();
  const jf = join(dir, 'journal.db');
  const r = await run('WO-200', 200, kit, jf, ['--parallel', '4']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.summary, { good: 200, goodThisRun: 200, quarantined: 0, stopReason: 'done' });
  t.equal(new Set(r.labels).size, 200, 'one label line per unit');

  const wo = await e.api.getWorkOrder('WO-200');
  t.equal(wo.issued, 200, 'the server issued 200, no more');
  const units = await listUnits('WO-200');
  t.equal(units.length, 200);
  t.ok(units.every((u) => u.status === 'confirmed'), 'every unit confirmed on the server');
  const j = new Journal(jf);
  t.teardown(() => j.close());
  const bySerial = new Map(units.map((u) => [u.serial, u]));
  for (const c of chips) {
    const rec = j.get(serialOf(c))!;
    t.equal(rec?.status, 'good');
    if (bySerial.get(rec.serial)?.fingerprintSha256 !== rec.fingerprintSha256) t.fail(`fingerprint differs for ${rec.serial}`);
    if (!r.labels.includes(`label serial=${rec.serial} fingerprint=${rec.fingerprintSha256}`)) t.fail(`no label for ${rec.serial}`);
  }
  // openssl, independently, on a sample: the chain verifies to the root.
  const [issuingDer] = fromPemAll(j.get(serialOf(chips[0]!))!.chainPem!);
  writeFileSync(join(dir, 'issuing.pem'), toPem(issuingDer!));
  for (const c of [chips[0]!, chips[99]!, chips[199]!]) {
    const f = join(dir, `${serialOf(c)}.pem`);
    writeFileSync(f, toPem(j.get(serialOf(c))!.certificateDer!));
    const out = execFileSync('openssl', ['verify', '-CAfile', e.pki.rootCertPath, '-untrusted', join(dir, 'issuing.pem'), f], { encoding: 'utf8' });
    t.match(out, /: OK/, `openssl verifies ${serialOf(c)}`);
  }
  // keyline station report: one CSV row per unit.
  const csvFile = join(dir, 'report.csv');
  const rep = await station(e, ['report', '--out', csvFile], { KEYLINE_STATION_JOURNAL: jf });
  t.equal(rep.code, 0, rep.stderr);
  const csv = readFileSync(csvFile, 'utf8').trim().split('\r\n');
  t.equal(csv.length, 201);
  t.match(csv[0], /^serial,work_order,station,status,step/);
});

// Four real kills here (line.test.ts crashes at every step in-process, faster).
for (const step of ['keyed', 'issued-unrecorded', 'written', 'confirmed-unrecorded']) {
  t.test(`kill -9 after '${step}', rerun: resumes, no unit lost, none issued twice`, async (t) => {
    const wo = `WO-KILL-${step}`;
    await e.createWorkOrder(wo, 6);
    const chips = blankChips(6);
    const kit = await serveChips(t, chips);
    const jf = join(t.testdir(), 'journal.db');
    const first = await run(wo, 6, kit, jf, ['--parallel', '2'], { KEYLINE_STATION_CRASH_AT: `${step}:3` });
    t.equal(first.signal, 'SIGKILL', 'the first run died by SIGKILL');
    const second = await run(wo, 6, kit, jf, ['--parallel', '2']);
    t.equal(second.code, 0, second.stderr);
    t.match(second.summary, { good: 6, quarantined: 0, stopReason: 'done' });
    t.equal((await e.api.getWorkOrder(wo)).issued, 6, 'six certificates, none issued twice (quota 6 would refuse a seventh)');
    const units = await listUnits(wo);
    t.same(new Set(units.map((u) => u.serial)), new Set(chips.map(serialOf)), 'one server record per chip');
    t.ok(units.every((u) => u.status === 'confirmed'));
    t.equal(new Set([...first.labels, ...second.labels]).size, 6, 'six labels across both runs');
  });
}

t.test('emulator fault injection: the unit is quarantined, never good', async (t) => {
  await e.createWorkOrder('WO-FAULT', 10);
  // The chip fails every command from its 30th on: after its key, before its certificates.
  let draws = 0;
  const faulty = blankChips(1, { faults: { executionErrorRate: 0.5, rng: () => (++draws >= 30 ? 0 : 1) } })[0]!;
  const chips = [...blankChips(2), faulty];
  const kit = await serveChips(t, chips);
  const r = await run('WO-FAULT', 3, kit, join(t.testdir(), 'journal.db'));
  t.equal(r.code, 4, 'no chip left to reach the count');
  t.match(r.summary, { good: 2, quarantined: 1, quarantinedUnits: [{ serial: serialOf(faulty), reason: /ATCA_EXECUTION_ERROR/ }] });
  t.notOk(r.labels.some((l) => l.includes(serialOf(faulty))), 'no label for the faulty part');
  const u = (await listUnits('WO-FAULT')).find((x) => x.serial === serialOf(faulty));
  t.not(u?.status, 'confirmed', 'the server never counts it good');
});

t.test('quota exceeded: the line stops cleanly with the count done', async (t) => {
  await e.createWorkOrder('WO-QUOTA', 3);
  const kit = await serveChips(t, blankChips(5));
  const r = await run('WO-QUOTA', 5, kit, join(t.testdir(), 'journal.db'));
  t.equal(r.code, 3);
  t.match(r.summary, { good: 3, stopReason: 'quota-exceeded' });
  t.match(r.stderr, /line stopped: QUOTA_EXCEEDED/);
  t.equal((await e.api.getWorkOrder('WO-QUOTA')).issued, 3);
});

t.test('a cloned part is refused and flagged as a possible clone', async (t) => {
  await e.createWorkOrder('WO-CLONE', 10);
  const [original] = blankChips(1);
  const clone = blankChips(1, { cloneOf: original! })[0]!;
  const kit = await serveChips(t, [original!, clone]);
  const r = await run('WO-CLONE', 2, kit, join(t.testdir(), 'journal.db'));
  t.match(r.summary, { good: 1, quarantined: 1, possibleClones: 1, quarantinedUnits: [{ serial: serialOf(clone), possibleClone: true }] });
  t.match(r.stderr, new RegExp(`quarantined ${serialOf(clone)} \\(possible clone\\)`));
  const units = await listUnits('WO-CLONE');
  t.same(units.map((u) => u.serial), [serialOf(original!)], 'the clone got no certificate');
});

t.test('server unreachable: the line pauses, says so, and resumes by itself', async (t) => {
  await e.createWorkOrder('WO-OUTAGE', 5);
  const kit = await serveChips(t, blankChips(3));
  // A port where nothing answers yet; once the station reports the pause, a relay to the real
  // server opens there (TLS passes through untouched).
  const relay = createServer();
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as { port: number }).port;
  await new Promise<void>((r) => relay.close(() => r()));
  const target = new URL(e.apiUrl);
  const sockets = new Set<Socket>();
  let opened = false;
  let seen = '';
  const open = () => {
    if (opened) return;
    opened = true;
    const s = createServer((c) => {
      const up = connect(Number(target.port), target.hostname);
      sockets.add(c).add(up);
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    s.listen(port, '127.0.0.1');
    t.teardown(() => new Promise<void>((r) => { for (const x of sockets) x.destroy(); s.close(() => r()); }));
  };
  const r = await station(
    e,
    ['run', '--work-order', 'WO-OUTAGE', '--count', '3', '--emulator', kit, '--json', '--retry-max', '1'],
    { KEYLINE_STATION_JOURNAL: join(t.testdir(), 'journal.db'), KEYLINE_STATION_SERVER_URL: `https://127.0.0.1:${port}` },
    (chunk) => {
      // Chunks may split a line: look at everything seen so far.
      seen += chunk;
      if (/line paused: server unreachable, retrying in \d/.test(seen)) setTimeout(open, 300);
    },
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /line paused: server unreachable, retrying in \d+(\.\d)?s/);
  t.match(r.stderr, /line resumed/);
  t.match(r.summary, { good: 3, stopReason: 'done' });
});
