/**
 * The console's half of the composition root (issue 18, called by main.ts): the services its
 * pages and the /v1/line, /v1/outbox and story routes read, over the same store and services as
 * the API. Live updates: the change bus (fed by the observed store main.ts wraps) and one change
 * feed per process; the line's window runs only while someone looks at it.
 */
import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '../common/log.js';
import type { WorkOrderView } from '../common/protocol/station-api.js';
import type { ConsoleServices } from './api/deps.js';
import type { Config } from './config.js';
import { createAuditMonitor } from './audit/audit-monitor.js';
import type { ChangeBus } from './services/change-bus.js';
import { ChangeFeed } from './services/change-feed.js';
import type { PublishedCrl } from './services/crl-publisher.js';
import { LineActivity } from './services/line-activity.js';
import { createLineReports } from './services/line-reports.js';
import { createOutboxAdmin } from './services/outbox-admin.js';
import type { Revocation } from './services/revocation.js';
import { createScrap } from './services/scrap-unit.js';
import { createUnitInspection } from './services/unit-inspection.js';
import { createWorkOrderProgress } from './services/work-order-progress.js';
import type { AuditRecord, Store } from './store/store.js';
import { SELF_REGISTRY } from './registry/self-registry.js';

/** What the console needs from the composition root. */
export interface ConsoleStackDeps {
  config: Config;
  /** The observed store (change-bus.ts): the one every service of this process writes through. */
  store: Store;
  bus: ChangeBus;
  revocation: Revocation;
  listWorkOrders(): Promise<WorkOrderView[]>;
  auditPage(afterSeq: number, limit: number): Promise<AuditRecord[]>;
  crl(): PublishedCrl | null;
  log: Logger;
}

/** Builds the console's services; close() stops the live line. */
export function startConsole(d: ConsoleStackDeps): { services: ConsoleServices; close(): void } {
  const { store } = d;
  const log = d.log.child({ area: 'console' });
  const feed = new ChangeFeed({
    bus: d.bus, auditPage: d.auditPage,
    headSeq: async () => (await store.transaction((tx) => tx.audit.head(), { readOnly: true }))?.seq ?? 0,
    onError: (err) => log.warn({ err }, 'change feed poll failed'),
  });
  const line = new LineActivity({ feed, auditPage: d.auditPage, listWorkOrders: d.listWorkOrders });
  const services: ConsoleServices = {
    line,
    lineReports: createLineReports({ store }),
    inspection: createUnitInspection({ store }),
    progress: createWorkOrderProgress({ store }),
    outbox: createOutboxAdmin({ store }),
    audit: createAuditMonitor({ store }),
    scrapUnit: createScrap({ store, revocation: d.revocation }),
    crl: () => {
      const c = d.crl();
      return c ? { number: c.number, thisUpdate: c.thisUpdate.toISOString(), nextUpdate: c.nextUpdate.toISOString() } : null;
    },
    registryNames: [SELF_REGISTRY, ...Object.keys(d.config.registries ?? {})],
    // Every worker and replica reads the same TLS key, so they derive the same key for the
    // console's form tokens (HKDF, RFC 5869; the TLS key itself is never used for anything else).
    csrfKey: Buffer.from(hkdfSync('sha256', readFileSync(d.config.server.tlsKey), 'keyline-console', 'csrf-token-key', 32)),
  };
  return { services, close: () => line.close() };
}
