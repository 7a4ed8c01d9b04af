-- Keyline production schema, version 1 (PostgreSQL translation of ../../migrations/001-initial.sql:
-- same tables, columns and rules). Uniqueness of chip serial, public key, certificate fingerprint
-- and certificate serial, the quota and the append-only audit log are enforced by the database.
-- Text that is compared or ordered (serials, ISO-8601 timestamps) uses the "C" collation, so
-- ordering is bytewise whatever the database's default locale, as in SQLite.

CREATE TABLE work_orders (
  id          TEXT COLLATE "C" PRIMARY KEY,
  product     TEXT NOT NULL CHECK (length(product) BETWEEN 1 AND 64),
  quota       INTEGER NOT NULL CHECK (quota >= 1),
  -- The quota is a hard limit even for a buggy caller (overproduction protection).
  issued      INTEGER NOT NULL DEFAULT 0 CONSTRAINT work_orders_issued_within_quota CHECK (issued >= 0 AND issued <= quota),
  -- JSON array of station ids, NULL = any authenticated station (kept as text, as in SQLite).
  stations    TEXT CHECK (stations IS NULL OR jsonb_typeof(stations::jsonb) = 'array'),
  status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  created_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE stations (
  id          TEXT COLLATE "C" PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('station', 'security-officer', 'admin')),
  created_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE units (
  -- ATECC608 serial number: 9 bytes as 18 uppercase hex digits.
  serial             TEXT COLLATE "C" PRIMARY KEY CHECK (serial ~ '^[0-9A-F]{18}$'),
  -- Raw P-256 X||Y; one key burned into two chips is a clone, refused by this index.
  public_key         BYTEA NOT NULL UNIQUE CHECK (length(public_key) = 64),
  fingerprint_sha256 TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(fingerprint_sha256) = 64),
  certificate_der    BYTEA NOT NULL,
  certificate_serial TEXT COLLATE "C" NOT NULL UNIQUE,
  work_order         TEXT COLLATE "C" NOT NULL REFERENCES work_orders(id),
  station            TEXT NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('issued', 'confirmed', 'quarantined', 'revoked')),
  status_reason      TEXT,
  idempotency_key    TEXT,
  issued_at          TEXT COLLATE "C" NOT NULL,
  confirmed_at       TEXT COLLATE "C",
  updated_at         TEXT COLLATE "C" NOT NULL
);

CREATE INDEX units_work_order ON units (work_order, serial);
CREATE INDEX units_status ON units (status, serial);

CREATE TABLE audit_log (
  seq       BIGINT PRIMARY KEY,
  at        TEXT COLLATE "C" NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  subject   TEXT,
  -- Kept as text: the hash covers these exact bytes (jsonb would re-order and re-space them).
  detail    TEXT CHECK (detail IS NULL OR jsonb_typeof(detail::jsonb) IS NOT NULL),
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);

-- Append-only: the log refuses to be rewritten through SQL (tampering then needs the triggers
-- dropped first, which the hash chain still detects). TRUNCATE bypasses row triggers, so it
-- gets its own statement trigger.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
