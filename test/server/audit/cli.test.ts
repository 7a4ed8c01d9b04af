import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import t from 'tap';
import { main } from '../../../server/audit/cli.js';
import { capture, openFixtureStore, writeConfig } from './cli-fixture.js';

t.test('keyline audit verify: OK with the count, then the first broken link after tampering', async (t) => {
  const { config, db } = writeConfig(t.testdir());
  const store = openFixtureStore(db);
  for (let i = 0; i < 4; i++) await store.transaction((tx) => tx.audit.append({ action: 'unit.issued', actor: 'station-01', subject: `S${i}` }));
  await store.close();

  const ok = await capture(() => main(['verify', '--config', config]));
  t.equal(ok.result, 0);
  t.match(ok.out, /^audit log OK: 4 records, last hash [0-9a-f]{64}\n$/);
  const json = await capture(() => main(['verify', '--config', config, '--json']));
  t.match(JSON.parse(json.out), { ok: true, count: 4 });

  // An attacker with file access drops the trigger and rewrites record 2.
  const raw = new Database(db);
  raw.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'nobody' WHERE seq = 2");
  raw.close();
  const broken = await capture(() => main(['verify', '--config', config]));
  t.equal(broken.result, 1);
  t.match(broken.out, /BROKEN at seq 2: hash does not match/);
  t.match(JSON.parse((await capture(() => main(['verify', '--config', config, '--json']))).out), { ok: false, seq: 2, count: 1 });

  // Deleting a record shows as a sequence gap at the record after it.
  const raw2 = new Database(db);
  raw2.exec("DROP TRIGGER audit_log_no_delete; UPDATE audit_log SET actor = 'station-01' WHERE seq = 2; DELETE FROM audit_log WHERE seq = 3");
  raw2.close();
  t.match(JSON.parse((await capture(() => main(['verify', '--config', config, '--json']))).out), { ok: false, seq: 4, reason: 'sequence gap', expected: '3', found: '4' });
});

t.test('keyline audit: usage errors and a missing database', async (t) => {
  const { config } = writeConfig(t.testdir());
  t.equal((await capture(() => main(['check', '--config', config]))).result, 2);
  t.match((await capture(() => main(['--help']))).out, /^Usage: keyline audit verify/);
  const missing = await capture(() => main(['verify', '--config', config]));
  t.equal(missing.result, 1);
  t.match(missing.err, /STORE_ERROR: store.url: no database/);
});

t.test('through the keyline bin: exit code 1 on a broken chain', async (t) => {
  const { config, db } = writeConfig(t.testdir());
  const store = openFixtureStore(db);
  await store.transaction((tx) => tx.audit.append({ action: 'x', actor: 'a' }));
  await store.close();
  const raw = new Database(db);
  raw.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'b' WHERE seq = 1");
  raw.close();
  const err = await promisify(execFile)('node', ['--import', 'tsx', 'bin/keyline.ts', 'audit', 'verify', '--config', config]).catch((e: { code: number; stdout: string }) => e);
  t.match(err, { code: 1, stdout: /BROKEN at seq 1/ }, String((err as { stderr?: string }).stderr));
});
