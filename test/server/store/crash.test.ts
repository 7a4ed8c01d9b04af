import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { UnitRecord } from '../../../server/store/store.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

t.test('SIGKILL mid-issuance: every returned certificate is recorded, every record is whole', async (t) => {
  const db = `${t.testdir()}/crash.db`;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, db], { stdio: ['ignore', 'pipe', 'inherit'] });
  const returned: string[] = [];
  await new Promise<void>((resolve) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      returned.push(...lines);
      if (returned.length >= 400 && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => resolve());
  });
  await new Promise((r) => child.once('close', r));
  t.ok(returned.length >= 400, `the child returned ${returned.length} certificates before the kill`);

  const store = new SqliteStore(db);
  t.teardown(() => store.close());
  const units: UnitRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.transaction((tx) => tx.units.list({ limit: 1000, ...(cursor ? { cursor } : {}) }));
    units.push(...page.units);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const recorded = new Set(units.map((u) => u.serial));
  t.same(returned.filter((s) => !recorded.has(s)), [], 'no certificate was returned without its committed record');
  const wo = await store.transaction((tx) => tx.workOrders.get('WO-CRASH'));
  t.equal(wo!.issued, units.length, 'issued count matches the units');
  const verdict = await verifyAuditChain(store);
  t.match(verdict, { ok: true });
  const audits = await store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 1_000_000 }));
  const auditedSerials = new Set(audits.filter((a) => a.action === 'unit.issued').map((a) => a.subject));
  t.equal(auditedSerials.size, units.length, 'one unit.issued record per unit');
  t.ok(units.every((u) => auditedSerials.has(u.serial)));
});
