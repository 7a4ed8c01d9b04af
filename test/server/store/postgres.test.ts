import pg from 'pg';
import t from 'tap';
import { PgStore } from '../../../server/store/postgres/pg-store.js';
import { freshPgDatabase, pgSkipReason } from '../../helpers/postgres.js';
import { storeSuite } from './store.suite.js';

// Each suite test gets its own database on this file's throw-away cluster; raw access goes
// through a separate pg client, as another process would.
const skip = pgSkipReason();
let url = '';
const raw = async (sql: string, params: unknown[] = []): Promise<void> => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql, params);
  } finally {
    await c.end();
  }
};

if (skip) {
  t.test('PostgreSQL store suite', { skip }, async () => {});
} else {
  storeSuite(t, {
    async open() {
      url = await freshPgDatabase();
      return PgStore.open(url, { pool: 4 });
    },
    raw: {
      insertUnitWithKey: (serial, keyHex, wo) =>
        raw(`INSERT INTO units (serial, public_key, fingerprint_sha256, certificate_der, certificate_serial, work_order, station, status, issued_at, updated_at)
          VALUES ($1, $2, $3, '\\x00', 'ff', $4, 's', 'issued', 'now', 'now')`, [serial, Buffer.from(keyHex, 'hex'), 'f'.repeat(64), wo]),
      updateAudit: (seq, action) => raw('UPDATE audit_log SET action = $1 WHERE seq = $2', [action, seq]),
      deleteAudit: (seq) => raw('DELETE FROM audit_log WHERE seq = $1', [seq]),
      tamperAudit: (seq, action) => raw(`DROP TRIGGER audit_log_no_update ON audit_log; UPDATE audit_log SET action = '${action.replace(/'/g, "''")}' WHERE seq = ${Number(seq)}`),
    },
  });
}
