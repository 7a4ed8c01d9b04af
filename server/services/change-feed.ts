/**
 * The change feed every live view of this process shares (issue 18): committed changes of this
 * process arrive at once through the bus (change-bus.ts); those of other workers and replicas
 * through one poll of the audit sequence, once a second, whatever the number of viewers. The
 * poll runs only while someone listens, reads at most `maxPages` pages a tick, and jumps to the
 * head (counting what it skipped) rather than fall further behind a line issuing faster than
 * that. Each record is delivered once: the bus's records are remembered until the poll passes them.
 */
import type { AuditRecord } from '../store/store.js';
import type { ChangeBus, ChangeListener } from './change-bus.js';

/** What the feed reads: the audit log as the API reads it. */
export interface ChangeFeedDeps {
  bus: ChangeBus;
  /** Records with seq > afterSeq, ascending, at most `limit` (GET /v1/audit's service). */
  auditPage(afterSeq: number, limit: number): Promise<AuditRecord[]>;
  /** The newest record's seq, 0 when the log is empty. */
  headSeq(): Promise<number>;
  intervalMs?: number;
  pageSize?: number;
  maxPages?: number;
  /** Told about a failed poll (the next tick tries again). */
  onError?: (err: unknown) => void;
}

/** The shared feed. */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();
  private readonly fromBus = new Set<number>();
  private mark = 0;
  private timer: NodeJS.Timeout | null = null;
  private unbus: (() => void) | null = null;
  private polling: Promise<void> | null = null;
  private starting: Promise<void> | null = null;
  /** Records passed over because the poll fell too far behind. */
  skipped = 0;

  constructor(private readonly d: ChangeFeedDeps) {}

  /** The seq up to which every record has been delivered (history at or below it is the caller's to read). */
  get position(): number {
    return this.mark;
  }

  /** Adds a listener, starting the feed for the first one; resolves once it runs. */
  async subscribe(listener: ChangeListener): Promise<() => void> {
    this.listeners.add(listener);
    this.starting ??= this.start();
    await this.starting;
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Reads what other processes committed since the last poll (the timer calls it; tests may too). */
  poll(): Promise<void> {
    this.polling ??= this.readNew().catch((err) => this.d.onError?.(err)).finally(() => (this.polling = null));
    return this.polling;
  }

  private async start(): Promise<void> {
    this.mark = await this.d.headSeq();
    this.unbus = this.d.bus.subscribe((records) => this.fromLocal(records));
    this.timer = setInterval(() => void this.poll(), this.d.intervalMs ?? 1000);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unbus?.();
    this.unbus = null;
    this.fromBus.clear();
    this.starting = null;
  }

  private fromLocal(records: readonly AuditRecord[]): void {
    const fresh = records.filter((r) => r.seq > this.mark && !this.fromBus.has(r.seq));
    for (const r of fresh) this.fromBus.add(r.seq);
    this.deliver(fresh);
  }

  private async readNew(): Promise<void> {
    const size = this.d.pageSize ?? 1000;
    for (let page = 0; page < (this.d.maxPages ?? 5); page++) {
      const records = await this.d.auditPage(this.mark, size);
      if (this.listeners.size === 0) return;
      const unseen = records.filter((r) => !this.fromBus.delete(r.seq));
      if (records.length > 0) this.mark = records[records.length - 1]!.seq;
      this.deliver(unseen);
      if (records.length < size) return;
    }
    // Still a full page behind after maxPages: jump to the head rather than lag for ever.
    const head = await this.d.headSeq();
    if (head > this.mark) {
      this.skipped += head - this.mark;
      this.mark = head;
      for (const seq of this.fromBus) if (seq <= head) this.fromBus.delete(seq);
    }
  }

  private deliver(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    for (const l of this.listeners) {
      try {
        l(records);
      } catch {
        // One listener's fault does not stop the others.
      }
    }
  }
}
