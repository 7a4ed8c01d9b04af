/**
 * A child process taking N turns from a shared rate limiter on its own SQLite connection, as
 * a second server replica would. Usage: rate-process.ts DB_PATH N PER_SECOND; prints the turn
 * times (ms since the epoch) as one JSON line.
 */
import { createSharedRegistryCallLimiter } from '../../../server/registry/shared-registry-call-limiter.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';

const [path, n, rate] = process.argv.slice(2) as [string | undefined, string | undefined, string | undefined];
// Run without arguments (tap given the folder): nothing to do.
if (!path) process.exit(0);
const store = new SqliteStore(path);
const limiter = createSharedRegistryCallLimiter({ store, name: 'aws-eu', perSecond: Number(rate) });
const at: number[] = [];
await Promise.all(Array.from({ length: Number(n) }, async () => { await limiter.take(); at.push(Date.now()); }));
await store.close();
process.stdout.write(JSON.stringify(at) + '\n');
