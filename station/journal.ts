/**
 * The station's local journal (SQLite, WAL): every unit's progress, written before the line takes
 * the next step, so a station killed at any point resumes where it stopped. The idempotency key and
 * public key are committed before the sign request leaves, which is what lets a rerun ask again
 * for the same certificate instead of generating a new key (no orphan certificate).
 */
import Database from 'better-sqlite3';
import { KeylineError } from '../common/errors.js';

/** The steps of one unit, in order (issue 4, steps 1-6); `step` in the journal is the last one done. */
export const STEPS = ['started', 'configured', 'keyed', 'issued', 'written', 'verified', 'locked', 'confirmed'] as const;
/** One step name. */
export type Step = (typeof STEPS)[number];

/**
 * Steps synced to disk before the line goes on: after 'keyed' the public key and idempotency key
 * leave for the server; losing them to a power cut would mean a new key and an orphan
 * certificate. Syncing the WAL there also makes every earlier commit durable.
 */
export const DURABLE_STEPS: ReadonlySet<Step> = new Set<Step>(['keyed']);

/** A unit's standing: in progress, good (confirmed), quarantined, or pending (paused, resumable). */
export type UnitStatus = 'in-progress' | 'good' | 'quarantined' | 'pending';

/** One unit as the journal holds it. */
export interface UnitRecord {
  serial: string;
  workOrder: string;
  station: string;
  step: Step;
  status: UnitStatus;
  idempotencyKey: string | null;
  publicKey: string | null;
  certificateDer: Uint8Array | null;
  chainPem: string | null;
  fingerprintSha256: string | null;
  certificateSerial: string | null;
  reason: string | null;
  possibleClone: boolean;
  createdAt: string;
  updatedAt: string;
  confirmedAt: string | null;
}

/** The certificate facts recorded at step `issued`. */
export interface IssuedRecord {
  certificateDer: Uint8Array;
  chainPem: string;
  fingerprintSha256: string;
  certificateSerial: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS units (
  serial TEXT PRIMARY KEY,
  work_order TEXT NOT NULL,
  station TEXT NOT NULL,
  step TEXT NOT NULL,
  status TEXT NOT NULL,
  idempotency_key TEXT,
  public_key TEXT,
  certificate_der BLOB,
  chain_pem TEXT,
  fingerprint_sha256 TEXT UNIQUE,
  certificate_serial TEXT UNIQUE,
  reason TEXT,
  possible_clone INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  confirmed_at TEXT
);
CREATE INDEX IF NOT EXISTS units_work_order ON units (work_order, status);
-- public_key is not UNIQUE here: the server is the authority on duplicate keys across stations.
CREATE INDEX IF NOT EXISTS units_public_key ON units (public_key);
CREATE TABLE IF NOT EXISTS unit_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  serial TEXT NOT NULL REFERENCES units (serial),
  step TEXT NOT NULL,
  status TEXT NOT NULL,
  detail TEXT,
  at TEXT NOT NULL
);
`;

type Row = Record<string, unknown>;

function toRecord(r: Row): UnitRecord {
  return {
    serial: r.serial as string,
    workOrder: r.work_order as string,
    station: r.station as string,
    step: r.step as Step,
    status: r.status as UnitStatus,
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    publicKey: (r.public_key as string | null) ?? null,
    certificateDer: r.certificate_der ? new Uint8Array(r.certificate_der as Buffer) : null,
    chainPem: (r.chain_pem as string | null) ?? null,
    fingerprintSha256: (r.fingerprint_sha256 as string | null) ?? null,
    certificateSerial: (r.certificate_serial as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    possibleClone: r.possible_clone === 1,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    confirmedAt: (r.confirmed_at as string | null) ?? null,
  };
}

/** The per-unit journal over one SQLite file. */
export class Journal {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly updates = new Map<string, Database.Statement>();

  /** Opens (creating when absent) the journal file; `:memory:` for unit tests. */
  constructor(file: string) {
    try {
      this.db = new Database(file);
    } catch (err) {
      throw new KeylineError('STORE_ERROR', `cannot open station journal ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives kill -9 of the station (it is in the WAL, in the OS's
    // hands) but not a power cut. The commits a rerun cannot do without ('keyed' before the
    // sign request leaves, quarantines) are made FULL, which syncs the WAL and with it every
    // commit before them; losing any other step to a power cut only repeats idempotent work,
    // or at worst leaves a config-locked chip unknown to the journal, set aside as foreign
    // (see DURABLE_STEPS).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.stmts = {
      get: this.db.prepare('SELECT * FROM units WHERE serial = ?'),
      insert: this.db.prepare(
        `INSERT INTO units (serial, work_order, station, step, status, created_at, updated_at)
         VALUES (@serial, @workOrder, @station, 'started', 'in-progress', @now, @now)`,
      ),
      event: this.db.prepare('INSERT INTO unit_events (serial, step, status, detail, at) VALUES (?, ?, ?, ?, ?)'),
      countGood: this.db.prepare("SELECT count(*) AS n FROM units WHERE work_order = ? AND status = 'good'"),
      all: this.db.prepare('SELECT * FROM units ORDER BY created_at, serial'),
      events: this.db.prepare('SELECT step, status, detail, at FROM unit_events WHERE serial = ? ORDER BY id'),
    };
  }

  /** The unit's record, or undefined when this station never touched the chip. */
  get(serial: string): UnitRecord | undefined {
    const r = this.stmts.get.get(serial) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** Creates the unit's record at step `started` (or returns the existing one, resuming). */
  begin(serial: string, workOrder: string, station: string): UnitRecord {
    const existing = this.get(serial);
    if (existing) return existing;
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.stmts.insert.run({ serial, workOrder, station, now });
      this.stmts.event.run(serial, 'started', 'in-progress', null, now);
    })();
    return this.get(serial)!;
  }

  /** Records that `step` is done, with the fields it produced, and its event, in one transaction. */
  advance(serial: string, step: Step, fields: Partial<Pick<UnitRecord, 'publicKey' | 'idempotencyKey'>> & { issued?: IssuedRecord } = {}): void {
    const now = new Date().toISOString();
    const sets: string[] = ['step = @step', 'updated_at = @now', "status = 'in-progress'", 'reason = NULL'];
    const params: Record<string, unknown> = { serial, step, now };
    if (fields.publicKey !== undefined) { sets.push('public_key = @publicKey'); params.publicKey = fields.publicKey; }
    if (fields.idempotencyKey !== undefined) { sets.push('idempotency_key = @idem'); params.idem = fields.idempotencyKey; }
    if (fields.issued) {
      sets.push('certificate_der = @der', 'chain_pem = @chain', 'fingerprint_sha256 = @fp', 'certificate_serial = @csn');
      Object.assign(params, {
        der: Buffer.from(fields.issued.certificateDer), chain: fields.issued.chainPem,
        fp: fields.issued.fingerprintSha256, csn: fields.issued.certificateSerial,
      });
    }
    if (step === 'confirmed') { sets[2] = "status = 'good'"; sets.push('confirmed_at = @now'); }
    this.update(serial, sets, params, step, step === 'confirmed' ? 'good' : 'in-progress', null);
  }

  /** Quarantines the unit with its reason; it is never counted good nor taken again. */
  quarantine(serial: string, reason: string, opts: { possibleClone?: boolean } = {}): void {
    const sets = ["status = 'quarantined'", 'reason = @reason', 'updated_at = @now', 'possible_clone = @clone'];
    this.update(serial, sets, { serial, reason, now: new Date().toISOString(), clone: opts.possibleClone ? 1 : 0 }, null, 'quarantined', reason);
  }

  /** Marks the unit paused (e.g. quota reached before it was signed): resumable on a later run. */
  pend(serial: string, reason: string): void {
    this.update(serial, ["status = 'pending'", 'reason = @reason', 'updated_at = @now'], { serial, reason, now: new Date().toISOString() }, null, 'pending', reason);
  }

  /** Good units of a work order in this journal. */
  countGood(workOrder: string): number {
    return (this.stmts.countGood.get(workOrder) as { n: number }).n;
  }

  /** Every unit, oldest first (for `keyline station report`). */
  list(): UnitRecord[] {
    return (this.stmts.all.all() as Row[]).map(toRecord);
  }

  /** The unit's step events, oldest first. */
  events(serial: string): Array<{ step: string; status: string; detail: string | null; at: string }> {
    return this.stmts.events.all(serial) as Array<{ step: string; status: string; detail: string | null; at: string }>;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private update(serial: string, sets: string[], params: Record<string, unknown>, step: Step | null, status: UnitStatus, detail: string | null): void {
    const sql = `UPDATE units SET ${sets.join(', ')} WHERE serial = @serial`;
    let stmt = this.updates.get(sql);
    if (!stmt) this.updates.set(sql, (stmt = this.db.prepare(sql)));
    const write = this.db.transaction(() => {
      const r = stmt!.run(params);
      if (r.changes !== 1) throw new KeylineError('STORE_ERROR', `journal has no unit with serial '${serial}'`);
      const cur = this.stmts.get.get(serial) as Row;
      this.stmts.event.run(serial, step ?? (cur.step as string), status, detail, params.now as string);
    });
    if ((step && DURABLE_STEPS.has(step)) || status === 'quarantined') this.durably(() => write());
    else write();
  }

  /** Runs one commit with synchronous = FULL (the WAL is synced before it returns). */
  private durably(fn: () => void): void {
    this.db.pragma('synchronous = FULL');
    try {
      fn();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }
}
