/**
 * Keyline's own registry runs the Registry contract suite. It has no remote side: what it holds is
 * the store's registrations table, and the cases about a cloud's answers do not apply to it.
 *
 * Issuance now writes the self registration with the unit (issue 13), so this Registry only
 * delivers the 'self' jobs a database written before that still holds: the harness's units are
 * made to look like such a database's (a pending 'self' register job, no registration yet).
 */
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createSelfRegistry, SELF_REGISTRY } from '../../../server/registry/self-registry.js';
import type { UnitRecord } from '../../../server/store/store.js';
import { registryBase } from './registry-fixture.js';
import { registrySuite } from './registry.suite.js';

const NO_REMOTE = 'self makes no remote call: it writes the production database, whose failures are store errors';

registrySuite(t, {
  capabilities: {
    awaitingConnection: { skip: 'self registers at once: Keyline\'s enrollment reads the unit from the production database' },
    withdraws: { skip: 'self withdraws nothing: enrollment refuses a revoked unit by its status and the revocation table' },
    throttled: { skip: `${NO_REMOTE}; nothing throttles it` },
    unavailable: { skip: NO_REMOTE },
    hang: { skip: NO_REMOTE },
    rejected: { skip: 'self refuses no unit the store holds (a vanished unit is UNKNOWN_UNIT, a bug upstream, retried as transient)' },
  },
  async open(t) {
    const base = await registryBase(t, SELF_REGISTRY);
    const registered = (u: UnitRecord) => base.store.transaction((tx) => tx.outbox.getRegistration(u.serial, SELF_REGISTRY), { readOnly: true });
    const issued: UnitRecord[] = [];
    return {
      registry: createSelfRegistry({ store: base.store }),
      store: base.store,
      async units(n) {
        const us = await base.units(n);
        const db = new Database(join(base.dir, 'keyline.db'));
        try {
          const drop = db.prepare("DELETE FROM registrations WHERE serial = ? AND registry = 'self'");
          for (const u of us) drop.run(u.serial);
        } finally {
          db.close();
        }
        await base.store.transaction(async (tx) => {
          for (const u of us) await tx.outbox.enqueue({ serial: u.serial, registry: SELF_REGISTRY, action: 'register', at: u.issuedAt });
        });
        issued.push(...us);
        return us;
      },
      externalIdOf: (u) => `keyline:${u.serial}`,
      held: async (u) => ((await registered(u)) ? 'active' : 'absent'),
      // The table's key is (serial, registry): a second row for a unit cannot exist, so count units.
      count: async () => (await Promise.all(issued.map(registered))).filter(Boolean).length,
    };
  },
});
