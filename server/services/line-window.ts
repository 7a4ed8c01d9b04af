/**
 * The line over the last hour, folded from audit records (issue 18): per station and work order,
 * units issued, good (confirmed) and quarantined in 10-second buckets; the last units with their
 * label data; possible clones (DUPLICATE_KEY refusals) and pauses the stations reported. Pure: it
 * sees records and a clock, never the store, so the live view and its tests build it alike.
 */
import type { WorkOrderView } from '../../common/protocol/station-api.js';
import type { AuditRecord } from '../store/store.js';

/** One station's activity in the window. */
export interface StationActivity {
  station: string;
  workOrders: string[];
  issued: number;
  good: number;
  quarantined: number;
  /** Good units per hour over the last ten minutes (or since the station's first unit, if later). */
  unitsPerHour: number;
  lastAt: string | null;
  /** running: a unit in the last minute; idle: none; paused: it reported a pause that ended less than a minute ago. */
  state: 'running' | 'idle' | 'paused';
}

/** One work order: its quota from the store, its activity from the window. */
export interface WorkOrderActivity {
  id: string;
  product: string;
  status: 'open' | 'closed';
  quota: number;
  issued: number;
  good: number;
  quarantined: number;
  unitsPerHour: number;
}

/** A unit as the label printer saw it, and where it is now. */
export interface RecentUnit {
  serial: string;
  at: string;
  station: string;
  workOrder: string | null;
  fingerprint: string | null;
  certificateSerial: string | null;
  status: 'issued' | 'confirmed' | 'quarantined' | 'released' | 'revoked';
}

/** Something a supervisor should look at. */
export interface LineAlert {
  kind: 'quota' | 'paused' | 'clone';
  at: string;
  message: string;
  workOrder?: string;
  station?: string;
  serial?: string;
}

/** What the line view shows; also GET /v1/line. */
export interface LineSnapshot {
  at: string;
  windowMinutes: number;
  bucketSeconds: number;
  stations: StationActivity[];
  workOrders: WorkOrderActivity[];
  recent: RecentUnit[];
  /** Bucket start times (Unix seconds), good units per station per bucket, quarantined per bucket. */
  series: { t: number[]; good: Record<string, number[]>; quarantined: number[] };
  alerts: LineAlert[];
  /** Changes the live feed passed over while it lagged (the counts are then low). */
  skipped: number;
}

type Counts = { issued: number; good: number; quarantined: number };
type UnitRef = { station: string; workOrder: string | null; fingerprint: string | null; certificateSerial: string | null };

const RATE_MS = 10 * 60_000;
const RUNNING_MS = 60_000;
const UNIT_MEMORY = 100_000;
const RECENT = 20;
const QUOTA_WARN = 0.9;

/** The aggregation. */
export class LineWindow {
  // bucket start (ms) → "station\u0000workOrder" → counts
  private readonly buckets = new Map<number, Map<string, Counts>>();
  private readonly units = new Map<string, UnitRef>();
  private readonly firstSeen = new Map<string, number>();
  private readonly lastSeen = new Map<string, number>();
  private recent: RecentUnit[] = [];
  private clones: Array<LineAlert & { t: number }> = [];
  private readonly pauses = new Map<string, { since: string; until: string; reason: string; workOrder: string | null; t: number }>();

  constructor(private readonly o: { windowMs?: number; bucketMs?: number } = {}) {}

  private get windowMs() { return this.o.windowMs ?? 3_600_000; }
  private get bucketMs() { return this.o.bucketMs ?? 10_000; }

  /** Folds committed audit records in (any order; each once). */
  apply(records: readonly AuditRecord[]): void {
    for (const r of records) this.applyOne(r);
  }

  private applyOne(r: AuditRecord): void {
    const t = Date.parse(r.at);
    const detail = parseDetail(r.detail);
    const serial = r.subject ?? '';
    switch (r.action) {
      case 'unit.issued': {
        const ref = { station: r.actor, workOrder: str(detail.workOrder), fingerprint: str(detail.fingerprint), certificateSerial: str(detail.certificateSerial) };
        this.remember(serial, ref);
        this.count(t, ref, 'issued');
        this.pushRecent({ serial, at: r.at, ...ref, status: 'issued' });
        break;
      }
      case 'unit.confirmed':
      case 'unit.quarantined': {
        const ref = this.units.get(serial) ?? { station: r.actor, workOrder: null, fingerprint: null, certificateSerial: null };
        this.count(t, ref, r.action === 'unit.confirmed' ? 'good' : 'quarantined');
        this.pushRecent({ serial, at: r.at, ...ref, status: r.action === 'unit.confirmed' ? 'confirmed' : 'quarantined' });
        break;
      }
      case 'unit.released':
      case 'certificate.revoke': {
        const s = r.action === 'unit.released' ? serial : str(detail.serial);
        const ref = s ? this.units.get(s) : undefined;
        if (s && ref) this.pushRecent({ serial: s, at: r.at, ...ref, status: r.action === 'unit.released' ? 'released' : 'revoked' });
        break;
      }
      case 'unit.duplicate_key':
        this.clones.push({
          kind: 'clone', at: r.at, t, serial, station: r.actor, ...(str(detail.workOrder) ? { workOrder: str(detail.workOrder)! } : {}),
          message: `possible clone: chip ${serial} presented the public key of unit ${str(detail.existingSerial) ?? '?'} (DUPLICATE_KEY, ${r.actor}${detail.workOrder ? `, ${str(detail.workOrder)}` : ''})`,
        });
        this.clones = this.clones.slice(-RECENT);
        break;
      case 'station.paused':
        this.pauses.set(r.actor, { since: str(detail.since) ?? r.at, until: str(detail.until) ?? r.at, reason: str(detail.reason) ?? 'paused', workOrder: str(detail.workOrder), t });
        break;
    }
  }

  /** The view at `now`, with the work orders' quotas as the store has them. */
  snapshot(now: number, workOrders: readonly WorkOrderView[], skipped = 0): LineSnapshot {
    this.prune(now);
    const bucket = this.bucketMs;
    const first = Math.floor((now - this.windowMs) / bucket) * bucket + bucket;
    const t: number[] = [];
    const good: Record<string, number[]> = {};
    const quarantined: number[] = [];
    const perStation = new Map<string, Counts & { recent: number; workOrders: Set<string> }>();
    const perOrder = new Map<string, Counts & { recent: number }>();
    for (let b = first, i = 0; b <= now; b += bucket, i++) {
      t.push(b / 1000);
      quarantined.push(0);
      for (const row of Object.values(good)) row.push(0);
      for (const [key, c] of this.buckets.get(b) ?? []) {
        const [station, wo] = key.split('\u0000') as [string, string];
        const row = (good[station] ??= new Array<number>(i + 1).fill(0));
        row[i]! += c.good;
        quarantined[i]! += c.quarantined;
        const inRate = b >= now - RATE_MS;
        const s = perStation.get(station) ?? { issued: 0, good: 0, quarantined: 0, recent: 0, workOrders: new Set<string>() };
        add(s, c);
        if (inRate) s.recent += c.good;
        if (wo) s.workOrders.add(wo);
        perStation.set(station, s);
        if (wo) {
          const o = perOrder.get(wo) ?? { issued: 0, good: 0, quarantined: 0, recent: 0 };
          add(o, c);
          if (inRate) o.recent += c.good;
          perOrder.set(wo, o);
        }
      }
    }
    const rate = (count: number, since: number | undefined) => {
      const span = Math.max(RUNNING_MS, Math.min(RATE_MS, now - (since ?? now)));
      return Math.round((count * 3_600_000) / span);
    };
    const stations = [...perStation].map(([station, s]): StationActivity => {
      const last = this.lastSeen.get(station);
      const pause = this.pauses.get(station);
      const paused = pause && now - Date.parse(pause.until) < RUNNING_MS && (last === undefined || last <= Date.parse(pause.until));
      return {
        station, workOrders: [...s.workOrders].sort(), issued: s.issued, good: s.good, quarantined: s.quarantined,
        unitsPerHour: rate(s.recent, this.firstSeen.get(station)), lastAt: last ? new Date(last).toISOString() : null,
        state: paused ? 'paused' : last !== undefined && now - last < RUNNING_MS ? 'running' : 'idle',
      };
    }).sort((a, b) => a.station.localeCompare(b.station));
    const shown = workOrders.filter((w) => w.status === 'open' || perOrder.has(w.id));
    const orders = shown.map((w): WorkOrderActivity => {
      const o = perOrder.get(w.id) ?? { issued: 0, good: 0, quarantined: 0, recent: 0 };
      const since = Math.min(...[...perStation].filter(([, s]) => s.workOrders.has(w.id)).map(([st]) => this.firstSeen.get(st) ?? now));
      return { id: w.id, product: w.product, status: w.status, quota: w.quota, issued: w.issued, good: o.good, quarantined: o.quarantined, unitsPerHour: rate(o.recent, Number.isFinite(since) ? since : now) };
    });
    return {
      at: new Date(now).toISOString(), windowMinutes: Math.round(this.windowMs / 60_000), bucketSeconds: Math.round(bucket / 1000),
      stations, workOrders: orders, recent: [...this.recent].reverse(), series: { t, good, quarantined },
      alerts: this.alerts(now, workOrders), skipped,
    };
  }

  private alerts(now: number, workOrders: readonly WorkOrderView[]): LineAlert[] {
    const out: LineAlert[] = [];
    for (const w of workOrders) {
      if (w.status !== 'open' || w.issued < w.quota * QUOTA_WARN) continue;
      const pct = Math.floor((w.issued / w.quota) * 100);
      out.push({ kind: 'quota', at: new Date(now).toISOString(), workOrder: w.id,
        message: w.issued >= w.quota ? `${w.id}: quota used up (${w.issued} of ${w.quota}); the line stops on QUOTA_EXCEEDED` : `${w.id}: ${pct}% of the quota used (${w.issued} of ${w.quota})` });
    }
    for (const [station, p] of this.pauses) {
      const seconds = Math.round((Date.parse(p.until) - Date.parse(p.since)) / 1000);
      out.push({ kind: 'paused', at: p.until, station, ...(p.workOrder ? { workOrder: p.workOrder } : {}),
        message: `${station} paused ${p.since.slice(11, 19)}–${p.until.slice(11, 19)} UTC (${seconds} s): ${p.reason}` });
    }
    for (const c of this.clones) out.push({ kind: c.kind, at: c.at, message: c.message, ...(c.station ? { station: c.station } : {}), ...(c.workOrder ? { workOrder: c.workOrder } : {}), ...(c.serial ? { serial: c.serial } : {}) });
    return out.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  }

  private remember(serial: string, ref: UnitRef): void {
    this.units.delete(serial);
    this.units.set(serial, ref);
    // Map order is insertion order: the oldest unit goes first once the memory is full.
    if (this.units.size > UNIT_MEMORY) this.units.delete(this.units.keys().next().value!);
  }

  private count(t: number, ref: UnitRef, what: keyof Counts): void {
    const b = Math.floor(t / this.bucketMs) * this.bucketMs;
    const key = `${ref.station}\u0000${ref.workOrder ?? ''}`;
    const m = this.buckets.get(b) ?? new Map<string, Counts>();
    this.buckets.set(b, m);
    const c = m.get(key) ?? { issued: 0, good: 0, quarantined: 0 };
    c[what]++;
    m.set(key, c);
    if (!this.firstSeen.has(ref.station) || this.firstSeen.get(ref.station)! > t) this.firstSeen.set(ref.station, t);
    if ((this.lastSeen.get(ref.station) ?? 0) < t) this.lastSeen.set(ref.station, t);
  }

  private pushRecent(u: RecentUnit): void {
    // One row per unit, at its latest state.
    const i = this.recent.findIndex((r) => r.serial === u.serial);
    if (i >= 0) this.recent.splice(i, 1);
    this.recent.push(u);
    if (this.recent.length > RECENT * 2) this.recent = this.recent.slice(-RECENT);
  }

  private prune(now: number): void {
    const oldest = now - this.windowMs - this.bucketMs;
    for (const b of this.buckets.keys()) if (b < oldest) this.buckets.delete(b);
    for (const [s, t] of this.firstSeen) if (t < oldest) this.firstSeen.set(s, oldest);
    for (const [s, t] of this.lastSeen) if (t < oldest) { this.lastSeen.delete(s); this.firstSeen.delete(s); }
    this.clones = this.clones.filter((c) => c.t >= oldest);
    for (const [s, p] of this.pauses) if (p.t < now - 15 * 60_000) this.pauses.delete(s);
    this.recent = this.recent.slice(-RECENT);
  }
}

function add(to: Counts, c: Counts): void {
  to.issued += c.issued;
  to.good += c.good;
  to.quarantined += c.quarantined;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function parseDetail(detail: string | null): Record<string, unknown> {
  if (!detail) return {};
  try {
    const v = JSON.parse(detail) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
