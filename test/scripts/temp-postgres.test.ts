/**
 * The throw-away cluster used by the PostgreSQL tests, test:scale and bench:scale: it starts on
 * loopback, runs unprivileged, is configured for speed, and leaves nothing behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import t from 'tap';
import { startTempPostgres } from '../../scripts/temp-postgres.js';
import { pgSkipReason } from '../helpers/postgres.js';

t.test('startTempPostgres: a database per call, fsync off, unprivileged, gone after stop()', { skip: pgSkipReason() }, async (t) => {
  const parent = t.testdir();
  const lines: string[] = [];
  const c = await startTempPostgres({ dir: parent, log: (l) => lines.push(l) });
  const [dir] = readdirSync(parent);
  t.match(dir, /^keyline-pg-/);
  t.match(c.url, new RegExp(`^postgres://postgres@127\\.0\\.0\\.1:${c.port}/postgres$`));
  const url = await c.createDatabase('one_db');
  t.equal(url, `postgres://postgres@127.0.0.1:${c.port}/one_db`);
  await t.rejects(c.createDatabase('Robert"; DROP'), { code: 'VALIDATION_FAILED' });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const s = (await client.query(`SELECT current_setting('fsync') AS fsync, current_setting('listen_addresses') AS listen,
    (SELECT usename FROM pg_user WHERE usesuper LIMIT 1) AS su`)).rows[0];
  await client.end();
  t.same(s, { fsync: 'off', listen: '127.0.0.1', su: 'postgres' });
  t.ok(lines.some((l) => /ready to accept connections/.test(l)), 'server log lines reach opts.log');
  await c.stop();
  await c.stop(); // idempotent
  t.notOk(existsSync(`${parent}/${dir}`), 'the cluster directory is removed');
  const late = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await t.rejects(late.connect(), 'nothing listens on the port any more');
});
