/**
 * Issuance is atomic across a crash: the server is SIGKILLed in the middle of a burst of
 * requests, restarted, and every certificate a station received is on record, every record is
 * complete (unit row, quota count, audit entry), and retries with the same idempotency keys
 * finish the rest without a second certificate for any serial.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, KEYLINE_BIN, operatorFor, spawnServer } from '../helpers/server.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';
import type { UnitIssued } from '../../common/protocol/station-api.js';

const bin = KEYLINE_BIN;



// One enclosing test: the PKI fixture lives exactly as long as the scenario.
t.test('a server killed mid-burst loses nothing', async (t) => {
  const pki = await makeDevPki(t);
  const first = await spawnServer(pki);
  let api = clientFor(t, pki, first.url);
  await operatorFor(t, pki, first.url).createWorkOrder({ id: 'WO-CRASH', product: 'Sensor', quota: 400 });

  const requests = Array.from({ length: 400 }, (_, i) => ({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-CRASH', idempotencyKey: `idem-${i}` }));
  const received = new Map<string, UnitIssued>();
  let next = 0;
  let killed = false;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < requests.length) {
        const req = requests[next++]!;
        try {
          const r = await api.issueUnit(req);
          received.set(r.serial, r);
          if (received.size === 60 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch {
          // connection reset or refused after the kill: retried below
        }
      }
    }),
  );
  t.ok(killed, 'the server was killed mid-burst');
  t.ok(received.size >= 60 && received.size < 400, `${received.size} certificates received before the crash`);

  const second = await spawnServer(pki);
  t.teardown(() => void second.child.kill('SIGTERM'));
  api = clientFor(t, pki, second.url);

  t.test('every certificate a station received is on record, unchanged', async (t) => {
    for (const r of received.values()) {
      const u = await api.getUnit(r.serial);
      if (u.fingerprintSha256 !== r.fingerprintSha256) t.fail(`unit ${r.serial} changed`);
    }
    t.pass(`${received.size} units checked`);
  });

  t.test('records are complete: quota count = unit rows = issuance audit entries; the chain verifies', async (t) => {
    const db = new Database(join(pki.outDir, 'keyline.db'), { readonly: true });
    const units = (db.prepare("SELECT count(*) AS n FROM units WHERE work_order = 'WO-CRASH'").get() as { n: number }).n;
    const issued = (db.prepare("SELECT issued FROM work_orders WHERE id = 'WO-CRASH'").get() as { issued: number }).issued;
    const audited = (db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'unit.issued'").get() as { n: number }).n;
    db.close();
    t.ok(units >= received.size, 'no received certificate was lost');
    t.equal(issued, units, 'the quota count matches the unit rows');
    t.equal(audited, units, 'one issuance audit record per unit');
    const out = execFileSync(process.execPath, [bin, 'audit', 'verify', '--config', pki.configPath], { encoding: 'utf8' });
    t.match(out, /ok|OK/);
  });

  t.test('retrying everything with the same idempotency keys completes the run with no duplicate', async (t) => {
    for (const req of requests) {
      const r = await api.issueUnit(req);
      const before = received.get(req.serial);
      if (before && before.certificatePem !== r.certificatePem) t.fail(`serial ${req.serial} got a second certificate`);
    }
    const wo = await api.getWorkOrder('WO-CRASH');
    t.equal(wo.issued, 400, 'exactly one certificate per serial');
  });
});
