/**
 * Chooses the Store implementation from a URL, so callers depend only on the Store interface.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { PgStore } from './postgres/pg-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/**
 * Opens `sqlite:/abs/path.db[?synchronous=full]` or `postgres://user@host:port/db[?pool=N]`
 * (also `postgresql://`; pool size default 10). `mustExist` refuses to create a new database
 * (for inspection commands, where a typo in the path should not yield an empty result): a
 * missing SQLite file, or a PostgreSQL database without Keyline's schema_migrations.
 */
export async function openStore(url: string, opts: { mustExist?: boolean } = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const [path = '', query = ''] = url.slice('sqlite:'.length).split('?', 2);
    if (!isAbsolute(path)) throw new KeylineError('CONFIG_INVALID', `store.url: '${url}' must name an absolute path (sqlite:/abs/path.db)`);
    if (opts.mustExist && !existsSync(path)) throw new KeylineError('STORE_ERROR', `store.url: no database at ${path}`);
    const params = new URLSearchParams(query);
    const sync = params.get('synchronous') ?? 'normal';
    if (sync !== 'normal' && sync !== 'full') throw new KeylineError('CONFIG_INVALID', `store.url: synchronous must be normal or full, got '${sync}'`);
    return new SqliteStore(path, { synchronous: sync });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const u = parseUrl(url);
    const pool = u.searchParams.get('pool');
    u.searchParams.delete('pool');
    if (pool !== null && !/^[1-9]\d{0,3}$/.test(pool)) throw new KeylineError('CONFIG_INVALID', `store.url: pool must be an integer 1..9999, got '${pool}'`);
    return PgStore.open(u.toString(), { ...(pool !== null ? { pool: Number(pool) } : {}), ...(opts.mustExist ? { mustExist: true } : {}) });
  }
  throw new KeylineError('CONFIG_INVALID', `store.url: unknown scheme in '${url}' (expected sqlite:/abs/path.db or postgres://host/db)`);
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    // The URL itself may hold a password: name the problem, not the value.
    throw new KeylineError('CONFIG_INVALID', 'store.url: not a valid postgres:// URL');
  }
}
