/**
 * PostgreSQL for tests: one throw-away cluster per test file (started on first use, stopped when
 * the file's root test ends) and a fresh database per call. Tests skip, with the reason, when
 * PostgreSQL is not installed.
 */
import pg from 'pg';
import tap from 'tap';
import { findPgBinDir } from '../../scripts/pg-binaries.js';
import { startTempPostgres, type TempPostgres } from '../../scripts/temp-postgres.js';

let cluster: Promise<TempPostgres> | undefined;
let databases = 0;

/**
 * Why PostgreSQL tests cannot run here, or false when they can (pass as tap's `skip`). Under CI
 * (CI=true) they never skip: scripts/setup installs PostgreSQL there, and a silent skip would
 * hide a broken set-up, so the tests run and fail instead.
 */
export function pgSkipReason(): string | false {
  if (findPgBinDir() || process.env.CI === 'true') return false;
  return 'PostgreSQL (initdb, postgres) is not installed: run scripts/setup';
}

/**
 * The file's cluster, started on first use and stopped at the end of the file; or, when
 * KEYLINE_TEST_PG_URL names a running server (.ci/run starts one throw-away cluster for the
 * whole run), that server, where each test file still gets databases of its own.
 */
export function pgCluster(): Promise<TempPostgres> {
  const shared = process.env.KEYLINE_TEST_PG_URL;
  if (!cluster && shared) cluster = Promise.resolve(sharedServer(shared));
  if (!cluster) {
    cluster = startTempPostgres({ ...(process.env.KEYLINE_TEST_LOG ? { log: (l: string) => process.stderr.write(`pg: ${l}\n`) } : {}) });
    const started = cluster;
    tap.teardown(async () => (await started).stop());
  }
  return cluster;
}

/** A new, empty database on the file's cluster; returns its postgres:// URL. */
export async function freshPgDatabase(): Promise<string> {
  const c = await pgCluster();
  return c.createDatabase(`t${process.pid}_${++databases}`);
}

/** A running server given by URL, seen through the TempPostgres shape (stop leaves it running). */
function sharedServer(url: string): TempPostgres {
  const u = new URL(url);
  return {
    url,
    port: Number(u.port || 5432),
    async stop() {},
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      u.pathname = `/${name}`;
      return u.toString();
    },
  };
}
