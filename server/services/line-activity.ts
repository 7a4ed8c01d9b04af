/**
 * The live line (issue 18): one LineWindow per process, seeded from the newest audit records of
 * the last hour and kept current by the shared change feed; viewers receive a snapshot at most
 * once a second, and only when something changed. The window runs while anyone watches and for a
 * minute after the last snapshot was asked for, then stops (and its feed's poll with it).
 */
import type { WorkOrderView } from '../../common/protocol/station-api.js';
import type { AuditRecord } from '../store/store.js';
import type { ChangeFeed } from './change-feed.js';
import { LineWindow, type LineSnapshot } from './line-window.js';

/** What the live line reads. */
export interface LineActivityDeps {
  feed: ChangeFeed;
  auditPage(afterSeq: number, limit: number): Promise<AuditRecord[]>;
  listWorkOrders(): Promise<WorkOrderView[]>;
  now?: () => number;
  /** How many of the newest records the window is seeded from (default 20,000). */
  seedRecords?: number;
  /** Least time between two snapshots pushed to viewers (default 1 s). */
  pushIntervalMs?: number;
}

/** Receives snapshots. */
export type LineViewer = (s: LineSnapshot) => void;

/** The live line of this process. */
export class LineActivity {
  private window: LineWindow | null = null;
  private running: Promise<void> | null = null;
  private unfeed: (() => void) | null = null;
  private readonly viewers = new Set<LineViewer>();
  private workOrders: WorkOrderView[] = [];
  private ordersStale = true;
  private changed = false;
  private timer: NodeJS.Timeout | null = null;
  private lastAsked = 0;
  private readonly now: () => number;

  constructor(private readonly d: LineActivityDeps) {
    this.now = d.now ?? Date.now;
  }

  /** The line now (GET /v1/line, the first paint of the console's line page). */
  async snapshot(): Promise<LineSnapshot> {
    this.lastAsked = this.now();
    await this.ensureRunning();
    return this.build();
  }

  /** Adds a viewer (a console's event stream); returns the function that removes it. */
  async watch(viewer: LineViewer): Promise<() => void> {
    this.viewers.add(viewer);
    await this.ensureRunning();
    return () => {
      this.viewers.delete(viewer);
      this.lastAsked = this.now();
    };
  }

  /** How many viewers are connected. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Stops the window and its feed subscription. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unfeed?.();
    this.unfeed = null;
    this.window = null;
    this.running = null;
  }

  private ensureRunning(): Promise<void> {
    this.running ??= this.start().catch((err) => {
      this.close();
      throw err;
    });
    return this.running;
  }

  private async start(): Promise<void> {
    const w = new LineWindow();
    this.window = w;
    // Live records first, so nothing committed while the history is read is lost; the history
    // is read up to the feed's position and the live ones come after it: no record twice.
    this.unfeed = await this.d.feed.subscribe((records) => this.onRecords(records));
    const upTo = this.d.feed.position;
    const from = Math.max(0, upTo - (this.d.seedRecords ?? 20_000));
    for (let after = from; after < upTo;) {
      const page = await this.d.auditPage(after, 1000);
      const mine = page.filter((r) => r.seq <= upTo);
      w.apply(mine);
      if (page.length < 1000 || mine.length < page.length) break;
      after = page[page.length - 1]!.seq;
    }
    this.timer = setInterval(() => void this.tick(), this.d.pushIntervalMs ?? 1000);
    this.timer.unref();
  }

  private onRecords(records: readonly AuditRecord[]): void {
    this.window?.apply(records);
    this.changed = true;
    if (records.some((r) => r.action.startsWith('work_order.') || r.action === 'unit.issued')) this.ordersStale = true;
  }

  private async tick(): Promise<void> {
    if (this.viewers.size === 0) {
      if (this.now() - this.lastAsked > 60_000) this.close();
      return;
    }
    // Buckets move on with the clock: push every 10 s even when the line is quiet.
    if (!this.changed && Math.floor(this.now() / 1000) % 10 !== 0) return;
    this.changed = false;
    const s = await this.build();
    for (const v of this.viewers) {
      try {
        v(s);
      } catch {
        // A viewer's failure (a closed stream) is its own.
      }
    }
  }

  private async build(): Promise<LineSnapshot> {
    if (this.ordersStale) {
      this.ordersStale = false;
      this.workOrders = await this.d.listWorkOrders();
    }
    return this.window!.snapshot(this.now(), this.workOrders, this.d.feed.skipped);
  }
}
