/**
 * A child process running an outbox worker on its own SQLite connection, as a second server
 * replica would. Usage: outbox-process.ts DB_PATH DELAY_MS; prints the serials its fake
 * registry registered as one JSON line.
 */
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';

const [path, delay] = process.argv.slice(2) as [string | undefined, string | undefined];
// Run without arguments (tap given the folder): nothing to do.
if (!path) process.exit(0);
const delayMs = Number(delay);
const store = new SqliteStore(path);
const registered: string[] = [];
const worker = createOutboxWorker({
  store, batch: 3,
  registries: [{
    name: 'cloud',
    async register(u) {
      registered.push(u.serial);
      await new Promise((r) => setTimeout(r, delayMs));
      return { externalId: u.serial };
    },
    async revoke() {},
  }],
});
for (let idle = 0; idle < 3;) {
  const r = await worker.runOnce();
  idle = r.delivered === 0 ? idle + 1 : 0;
}
await store.close();
process.stdout.write(JSON.stringify(registered) + '\n');
