import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { UnitRecord } from '../../../server/store/store.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
// 400 units take 1-8 s on a loaded 2-core machine; a child silent this long is stuck, and the
// test says so well before tap's own timeout (180 s) would end the whole file without a word.
const DEADLINE_MS = 60_000;

// What each of a stuck process's threads waits in (Linux): "main:futex_do_wait" is a lock, as in
// the Node 20 key-export deadlock p256Key avoids (test/server/services/helpers.ts).
function threadStates(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((tid) => `${tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()}:${readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8').trim() || 'running'}`)
      .join(' ');
  } catch {
    return 'unavailable';
  }
}

/**
 * Runs the child until it has printed `want` serials, then SIGKILLs it and waits for it to be
 * gone. Rejects, with the child's stderr, if it exits first or prints nothing new for DEADLINE_MS.
 */
async function serialsBeforeKill(db: string, want: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, db], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Listening from the start: 'close' can come in the same tick as 'exit'.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const returned: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (err?: Error) => {
        clearTimeout(timer);
        timer = undefined;
        if (err) reject(err);
        else resolve();
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => settle(new Error(`the child printed ${returned.length} serials, then nothing for ${DEADLINE_MS} ms; its threads wait in ${threadStates(child.pid!)}; stderr:\n${stderr}`)), DEADLINE_MS);
      };
      arm();
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        returned.push(...lines);
        if (!timer) return; // settled: lines printed before the kill still count
        if (returned.length >= want) settle();
        else arm();
      });
      child.once('exit', (code, signal) => {
        if (timer) settle(new Error(`the child exited (${code ?? signal}) after ${returned.length} serials; stderr:\n${stderr}`));
      });
    });
  } finally {
    child.kill('SIGKILL');
    await closed;
  }
  return returned;
}

t.test('SIGKILL mid-issuance: every returned certificate is recorded, every record is whole', async (t) => {
  const db = `${t.testdir()}/crash.db`;
  const returned = await serialsBeforeKill(db, 400);
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
