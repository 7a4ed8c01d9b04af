/**
 * The production database seam: a narrow, async, transactional interface (tus KvStore /
 * step-ca AuthDB shape). SQLite (sqlite/, embedded default) and PostgreSQL (postgres/, for
 * replicas) implement it, both passing test/server/store/store.suite.ts. Callers never see SQL or driver errors: uniqueness and state
 * violations surface as ConflictError / KeylineError with a code from ERROR_TABLE.
 */

import type { ChainFields } from './audit-chain.js';
import type { Role } from '../../common/roles.js';
import type { RevocationReason } from '../../common/protocol/revocation.js';
import type { EnrollmentRequestRepo, SupersededRepo } from './est-repos.js';
import type { AttestationRepo } from './attestation-repos.js';
import type { ChipKind } from '../../common/chip-serial.js';

/** Lifecycle of a provisioned unit. */

export type UnitStatus = 'issued' | 'confirmed' | 'quarantined' | 'revoked';

/** Every unit status, in lifecycle order (for validation of filters). */
export const UNIT_STATUSES: readonly UnitStatus[] = ['issued', 'confirmed', 'quarantined', 'revoked'];

/** Role of an authenticated client certificate (common/roles.ts). */
export type StationRole = Role;

/** A work order: how many units of which product, and which stations may build them. */
export interface WorkOrderRecord {
  id: string;
  product: string;
  quota: number;
  issued: number;
  /** Stations allowed to issue on this order; null = any authenticated station. */
  stations: string[] | null;
  status: 'open' | 'closed';
  createdAt: string;
  /** Registries this order's units must be preregistered with (default ['self']). */
  registries?: string[];
  /**
   * When a unit counts as complete at the station: 'confirmed' (default) once every registry
   * confirmed it; 'queued' once its registration jobs are durably in the outbox.
   */
  preregistration?: 'confirmed' | 'queued';
  /** The secure element its units carry (default 'atecc608'): their serials' length and their device certificate profile. */
  chip?: ChipKind;
  /** Units are refused without valid manufacturer-signed key-origin evidence (ATTESTATION_INVALID); default false. */
  requireAttestation?: boolean;
}

/** A provisioned unit as stored. */
export interface UnitRecord {
  /** Chip serial: 18 uppercase hex digits (ATECC608) or 36 (SE050). */
  serial: string;
  /** Raw P-256 X‖Y, 64 bytes. */
  publicKey: Uint8Array;
  /** SHA-256 of the certificate DER, lowercase hex. */
  fingerprintSha256: string;
  certificateDer: Uint8Array;
  /** Certificate serial number, lowercase hex. */
  certificateSerial: string;
  workOrder: string;
  station: string;
  status: UnitStatus;
  statusReason: string | null;
  idempotencyKey: string | null;
  issuedAt: string;
  confirmedAt: string | null;
  updatedAt: string;
}

/** A station, operator, officer or auditor known by its client certificate. */
export interface StationRecord {
  id: string;
  fingerprint: string;
  role: StationRole;
  createdAt: string;
}

/** One audit record: the fields its hash covers (audit-chain.ts) plus that hash. */
export interface AuditRecord extends ChainFields {
  hash: string;
}

/** What a caller gives to append an audit record; the store fills seq, at and the hashes. */
export interface AuditEntry {
  action: string;
  actor: string;
  subject?: string;
  detail?: Record<string, unknown>;
}

/** Filters and paging for units.list. */
export interface UnitQuery {
  workOrder?: string;
  status?: UnitStatus;
  /** Opaque cursor from a previous page's nextCursor. */
  cursor?: string;
  /** Page size, 1..1000 (default 100). */
  limit?: number;
}

/** One page of units, ordered by serial. */
export interface UnitPage {
  units: UnitRecord[];
  nextCursor: string | null;
}

/** Units of one work order by station and status. */
export interface UnitStatusCount {
  station: string;
  status: UnitStatus;
  count: number;
}

/** Work-order persistence. */
export interface WorkOrderRepo {
  /** Inserts a new order (issued 0, open); WORK_ORDER_EXISTS on a duplicate id. */
  create(wo: Omit<WorkOrderRecord, 'issued' | 'status'>): Promise<WorkOrderRecord>;
  /** The order, or null. */
  get(id: string): Promise<WorkOrderRecord | null>;
  /** The orders among `ids` that exist, in one read (a batch's orders, read as `get` reads one). */
  getMany(ids: string[]): Promise<WorkOrderRecord[]>;
  /** Adds `n` to issued; the database refuses to pass the quota (QUOTA_EXCEEDED). */
  incrementIssued(id: string, n?: number): Promise<void>;
  /** Sets open/closed; UNKNOWN_WORK_ORDER when absent. */
  setStatus(id: string, status: 'open' | 'closed'): Promise<void>;
  /** Every order, newest first. */
  list(): Promise<WorkOrderRecord[]>;
  /** Sets the quota and/or the station list (null = any station); UNKNOWN_WORK_ORDER when absent. The caller keeps quota >= issued. */
  update(id: string, patch: { quota?: number; stations?: string[] | null }): Promise<void>;
}

/** Unit persistence. */
export interface UnitRepo {
  /** Inserts a unit; SERIAL_EXISTS / DUPLICATE_KEY when the database's uniqueness refuses it. */
  insert(unit: UnitRecord): Promise<void>;
  /**
   * Inserts every unit, or none when the database's uniqueness refuses any of them (against the
   * table or each other): true when all went in. One statement on PostgreSQL, for batches.
   */
  insertMany(units: UnitRecord[]): Promise<boolean>;
  /** The unit with this chip serial, or null. */
  getBySerial(serial: string): Promise<UnitRecord | null>;
  /** The unit holding this raw public key, or null. */
  getByPublicKey(publicKey: Uint8Array): Promise<UnitRecord | null>;
  /** Every unit whose serial is in `serials` or whose key is in `publicKeys`, in one read (a batch's getBySerial and getByPublicKey). */
  findBySerialsOrKeys(serials: string[], publicKeys: Uint8Array[]): Promise<UnitRecord[]>;
  /** The unit whose certificate has this serial (lowercase hex), or null. */
  getByCertificateSerial(certificateSerial: string): Promise<UnitRecord | null>;
  /** The unit whose certificate has this SHA-256 fingerprint (lowercase hex), or null. */
  getByFingerprint(fingerprintSha256: string): Promise<UnitRecord | null>;
  /** How many units of one work order each station holds in each status (read through the work order's index). */
  countByStatus(workOrder: string): Promise<UnitStatusCount[]>;
  /** One page of units matching the filters, ordered by serial. */
  list(query?: UnitQuery): Promise<UnitPage>;
  /** Changes a unit's status; UNKNOWN_UNIT when absent. */
  setStatus(serial: string, status: UnitStatus, opts: { at: string; reason?: string; confirmedAt?: string }): Promise<void>;
}

/** Station persistence. */
export interface StationRepo {
  /** Inserts or refreshes a station (fingerprint and role); keeps the first created_at. */
  upsert(station: StationRecord): Promise<StationRecord>;
  /** The station, or null. */
  get(id: string): Promise<StationRecord | null>;
}

/** The append-only audit log. */
export interface AuditRepo {
  /** Appends a record chained to the last one (inside this transaction's write lock). */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** Appends records in order, each chained to the one before: what `append` in a loop does, in one statement on PostgreSQL. */
  appendMany(entries: AuditEntry[]): Promise<AuditRecord[]>;
  /** Records with seq > afterSeq, ascending, at most `limit`. */
  list(opts: { afterSeq: number; limit: number }): Promise<AuditRecord[]>;
  /** Number of records. */
  count(): Promise<number>;
  /** The newest `limit` records whose subject is one of `subjects`, in ascending order (a unit's story; indexed by migration 010). */
  listBySubject(subjects: string[], limit: number): Promise<AuditRecord[]>;
  /** The newest record's seq and hash, or null for an empty log. */
  head(): Promise<{ seq: number; hash: string } | null>;
}

/** RFC 5280 §5.3.1 revocation reasons. */
export type { RevocationReason } from '../../common/protocol/revocation.js';

/** One revoked certificate. */
export interface RevocationRecord {
  /** Lowercase hex, no leading zeros (normaliseSerialHex). */
  certificateSerial: string;
  kind: 'device' | 'station' | 'other';
  subject: string | null;
  reason: RevocationReason;
  revokedAt: string;
  revokedBy: string;
}

/** Revoked certificates. */
export interface RevocationRepo {
  /** Records a revocation; revoking twice keeps the first record (idempotent). */
  add(r: RevocationRecord): Promise<RevocationRecord>;
  /** The revocation of this serial, or null. */
  get(certificateSerial: string): Promise<RevocationRecord | null>;
  /** Revocations recorded after sequence number `afterSeq` (insertion order), at most `limit` (default all). */
  listSince(afterSeq: number, limit?: number): Promise<Array<RevocationRecord & { seq: number }>>;
  /** The sequence number of the latest revocation (0 when none): a generation counter other processes can poll. */
  lastSeq(): Promise<number>;
  /**
   * Every revocation as a CRL lists it, in insertion order: only serial, reason and time, read
   * as one string per row (SQLite) or one string in all (PostgreSQL), not as full records. A CRL
   * of 100,000 entries is read in tens of milliseconds instead of most of a second (issue 13).
   */
  listForCrl(): Promise<CrlListing[]>;
}

/** What a CRL entry needs of a revocation. */
export type CrlListing = Pick<RevocationRecord, 'certificateSerial' | 'reason' | 'revokedAt'>;

/** The latest CRL of one issuing CA (one row per CA: its number only ever grows, RFC 5280 §5.2.3). */
export interface CrlRecord {
  /** The issuing CA's key identifier (its SKI, lowercase hex); '' for the row a build before issue 19 kept. */
  issuerKeyId?: string;
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  /** The revocation sequence number the CRL covers (revocations.lastSeq() when it was built). */
  revocationSeq: number;
  der: Uint8Array;
}

/** CRL numbering and the latest CRL per issuing CA, shared by every process on the database. */
export interface CrlRepo {
  /** The latest CRL of the CA with this key identifier (default ''), or null before its first. */
  latest(issuerKeyId?: string): Promise<CrlRecord | null>;
  /** Replaces the latest CRL of `r.issuerKeyId` (default ''); STORE_ERROR unless `number` is greater than the stored one. */
  save(r: CrlRecord): Promise<void>;
}

/** "From `activateAt` on, the issuing CA with key identifier `keyId` issues" (keyline ca activate). */
export interface CaActivationRecord {
  /** Insertion order; the newest activation whose time has come wins. */
  seq: number;
  /** The issuing CA's key identifier (its SKI, lowercase hex). */
  keyId: string;
  activateAt: string;
  actor: string;
  createdAt: string;
}

/** A CRL of the root (an ARL: it lists revoked issuing CAs), as imported from the ceremony. */
export interface RootCrlRecord {
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  der: Uint8Array;
  importedAt: string;
}

/** The CA lifecycle state every process reads: which issuing CA issues, the root's CRL, imported ceremony transcripts. */
export interface CaRepo {
  /** Records an activation; returns it with its seq. */
  addActivation(a: { keyId: string; activateAt: string; actor: string }): Promise<CaActivationRecord>;
  /** Every activation, oldest first. */
  activations(): Promise<CaActivationRecord[]>;
  /** The newest activation's seq (0 when none): a generation counter other processes poll. */
  lastActivationSeq(): Promise<number>;
  /** Stores a root CRL; CRL_NOT_NEWER unless its number is greater than every stored one. */
  saveRootCrl(r: Omit<RootCrlRecord, 'importedAt'>): Promise<void>;
  /** The root CRL with the greatest number, or null. */
  latestRootCrl(): Promise<RootCrlRecord | null>;
  /** Notes that entry `seq` of ceremony transcript `transcriptId` went into the audit log; false when it already had. */
  markTranscriptEntry(transcriptId: string, seq: number, hash: string): Promise<boolean>;
}

/** A signed-challenge nonce as stored. */
export interface NonceRecord {
  /** 32 bytes as 64 lowercase hex digits. */
  nonce: string;
  serial: string;
  /** SHA-256 of the certificate shown in the hello, lowercase hex. */
  certFingerprint: string;
  expiresAt: string;
  used: boolean;
}

/** The first enrollment of a device. */
export interface EnrollmentRecord {
  serial: string;
  /** Chip counter at enrollment; null on the mTLS path. */
  counter: number | null;
  group: string;
  method: 'challenge' | 'mtls';
  at: string;
}

/** Enrollment state: nonces, enrollments and the last chip counter per device. */
export interface EnrollmentRepo {
  /** Stores a fresh, unused nonce. */
  addNonce(n: Omit<NonceRecord, 'used'>): Promise<void>;
  /** Marks the nonce used and returns it as it was before (used = its earlier state), or null when unknown. */
  useNonce(nonce: string): Promise<NonceRecord | null>;
  /** Deletes nonces that expired before `before` (ISO); returns how many. */
  purgeNonces(before: string): Promise<number>;
  /** The last counter seen for a device, or null. */
  lastCounter(serial: string): Promise<number | null>;
  /** Records the last counter seen (insert or update). */
  setLastCounter(serial: string, counter: number, at: string): Promise<void>;
  /** The device's enrollment, or null. */
  get(serial: string): Promise<EnrollmentRecord | null>;
  /** Records the first enrollment; SERIAL_EXISTS if the device already has one. */
  insert(e: EnrollmentRecord): Promise<void>;
  /**
   * Binds a unit's client id to certificate authentication at the broker (its device connected
   * with its certificate at `at`): kept from the first call; nothing happens for an unknown serial.
   */
  bindCertificate(serial: string, at: string): Promise<void>;
  /** When the unit's client id was bound to certificate authentication, or null. */
  certificateBinding(serial: string): Promise<string | null>;
}

/** What an outbox job asks a registry to do. */
export type OutboxAction = 'register' | 'revoke';

/** A preregistration job as stored (server/registry/outbox-worker.ts delivers it). */
export interface OutboxJobRecord {
  id: number;
  serial: string;
  registry: string;
  action: OutboxAction;
  /** 'awaiting': a CA-level registration covers the unit; open until its first connection. */
  status: 'pending' | 'awaiting' | 'delivered' | 'parked';
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  leaseUntil: string | null;
  /** The registry's identifier once it accepted the unit. */
  externalId: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** How many jobs of one registry, action and status exist. */
export interface OutboxJobCount {
  registry: string;
  action: OutboxAction;
  status: OutboxJobRecord['status'];
  count: number;
}

/** A confirmed registration of a unit with one registry. */
export interface RegistrationRecord {
  serial: string;
  registry: string;
  externalId: string;
  registeredAt: string;
}

/** The preregistration outbox and the registrations it produced. */
export interface OutboxRepo {
  /** Queues a job, due at `at`. */
  enqueue(job: { serial: string; registry: string; action: OutboxAction; at: string }): Promise<OutboxJobRecord>;
  /** Queues jobs in order (ids ascending in that order), as `enqueue` in a loop does. */
  enqueueMany(jobs: Array<{ serial: string; registry: string; action: OutboxAction; at: string }>): Promise<OutboxJobRecord[]>;
  /**
   * Leases up to `limit` pending or awaiting jobs due at `now` whose lease is free, until
   * `leaseUntil`; optionally only one unit's jobs. Two concurrent callers (processes, replicas)
   * never receive the same job while its lease runs.
   */
  claimDue(now: string, leaseUntil: string, limit: number, serial?: string): Promise<OutboxJobRecord[]>;
  /** Marks a job delivered and releases its lease. */
  markDelivered(id: number, at: string): Promise<void>;
  /** Marks a job awaiting the device's first connection (CA-level mode), re-checked at nextAttemptAt; releases the lease. */
  markAwaiting(id: number, a: { externalId: string; nextAttemptAt: string }): Promise<void>;
  /** Releases a job's lease without counting an attempt (a throttled call, retried at nextAttemptAt). */
  release(id: number, nextAttemptAt: string): Promise<void>;
  /** Records a failed attempt: retried at nextAttemptAt, or parked when `park`. */
  markFailed(id: number, f: { error: string; nextAttemptAt: string; park: boolean }): Promise<void>;
  /** The jobs of one unit, oldest first. */
  jobsFor(serial: string): Promise<OutboxJobRecord[]>;
  /** Parked jobs, optionally of one work order's units. */
  parked(workOrder?: string): Promise<OutboxJobRecord[]>;
  /** Records a registration; a second one for the same unit and registry keeps the first. */
  addRegistration(r: RegistrationRecord): Promise<RegistrationRecord>;
  /**
   * Records registrations as `addRegistration` in a loop does (each keeping an earlier one for
   * its unit and registry), in one statement on PostgreSQL: Keyline's own registrations, written
   * with their units (services/record-units.ts).
   */
  addRegistrations(rs: RegistrationRecord[]): Promise<void>;
  /** The registration of a unit with a registry, or null. */
  getRegistration(serial: string, registry: string): Promise<RegistrationRecord | null>;
  /** Whether any job is due at `now` with a free lease (read-only: an idle worker's probe). */
  anyDue(now: string): Promise<boolean>;
  /** Job counts by registry, action and status (`keyline registry list`). */
  jobCounts(): Promise<OutboxJobCount[]>;
  /** Registrations by registry, ordered by name (`keyline registry list`: Keyline's own have no jobs). */
  registrationCounts(): Promise<Array<{ registry: string; count: number }>>;
  /** Jobs awaiting a first connection, optionally of one work order's units. */
  awaiting(workOrder?: string): Promise<OutboxJobRecord[]>;
  /** Serials and registries a unit must reach but has no registration with and no delivered or awaiting job for. */
  unregistered(workOrder?: string): Promise<Array<{ serial: string; registry: string }>>;
  /** Registrations whose serial names no unit. */
  orphanRegistrations(): Promise<RegistrationRecord[]>;
  /** Jobs of one registry and/or status, newest first, at most `limit` (1..1000). */
  list(q: { registry?: string; status?: OutboxJobRecord['status']; limit: number }): Promise<OutboxJobRecord[]>;
  /** One job, or null. */
  get(id: number): Promise<OutboxJobRecord | null>;
  /** A parked or pending job is due again at `at`, its attempts counted from zero; false when the job is in neither state. */
  retry(id: number, at: string): Promise<boolean>;
  /** A pending job nobody holds a lease on at `now` is parked with `reason`; false otherwise. */
  park(id: number, reason: string, now: string): Promise<boolean>;
}

/** A named lease shared by every process on the database (server/store/leases). */
export interface LeaseRepo {
  /**
   * Takes or renews lease `name` for `holder` until `until` when it is free, expired at `now`,
   * or already held by `holder`; true when the caller holds it afterwards. Atomic across replicas.
   */
  acquire(name: string, holder: string, now: string, until: string): Promise<boolean>;
  /** Gives the lease up if `holder` holds it. */
  release(name: string, holder: string): Promise<void>;
  /** The current holder and expiry, or null. */
  get(name: string): Promise<{ holder: string; until: string } | null>;
}

export { normaliseSerialHex } from '../../common/certificate-serial.js';
export type * from './est-repos.js';
export type * from './attestation-repos.js';

/** The repositories one transaction sees; unusable after commit or rollback. */
export interface Tx {
  readonly workOrders: WorkOrderRepo;
  readonly units: UnitRepo;
  readonly stations: StationRepo;
  readonly audit: AuditRepo;
  readonly crls: CrlRepo;
  readonly revocations: RevocationRepo;
  readonly enrollment: EnrollmentRepo;
  readonly outbox: OutboxRepo;
  readonly leases: LeaseRepo;
  readonly ca: CaRepo;
  /** EST (issue 17): superseded certificates and requests awaiting approval. */
  readonly superseded: SupersededRepo;
  readonly enrollmentRequests: EnrollmentRequestRepo;
  /** Key-origin evidence of units (issue 15). */
  readonly attestations: AttestationRepo;
}

/** Options of one transaction. */
export interface TxOptions {
  /** A read-only snapshot: takes no write lock (SQLite BEGIN DEFERRED, PostgreSQL READ ONLY). */
  readOnly?: boolean;
  /**
   * A hint for small transactions: the store may run this one together with others submitted in
   * the same event-loop turn, in one BEGIN … COMMIT, its own writes inside a savepoint. It still
   * sees every earlier one's writes, gets its own result or error (a failure rolls back only its
   * own writes), and is answered only after the shared COMMIT; if that COMMIT fails, all fail.
   * SQLite shares (one commit instead of many); PostgreSQL runs it as a transaction of its own.
   */
  shared?: boolean;
}

/** The production database. */
export interface Store {
  /** Runs fn in one transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>, opts?: TxOptions): Promise<T>;
  /** Closes the connection after the running transactions finish. */
  close(): Promise<void>;
}
