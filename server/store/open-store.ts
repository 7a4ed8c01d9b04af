/**
 * Chooses the Store implementation from a URL, so callers depend only on the Store interface.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/**
 * Opens `sqlite:/abs/path.db[?synchronous=full]`; `postgres://` is reserved for the PostgreSQL
 * store (NOT_SUPPORTED until it exists). `mustExist` refuses to create a new database (for
 * inspection commands, where a typo in the path should not yield an empty result).
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
    throw new KeylineError('NOT_SUPPORTED', `store.url: PostgreSQL is not supported yet (got a postgres:// URL)`);
  }
  throw new KeylineError('CONFIG_INVALID', `store.url: unknown scheme in '${url}' (expected sqlite:/abs/path.db)`);
}
