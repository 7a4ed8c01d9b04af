-- Keyline production schema, version 1. The rules that matter are enforced here, by the
-- database itself, not only by code: uniqueness of chip serial, public key, certificate
-- fingerprint and certificate serial; quota; status values; an append-only audit log.

CREATE TABLE work_orders (
  id          TEXT PRIMARY KEY,
  product     TEXT NOT NULL CHECK (length(product) BETWEEN 1 AND 64),
  quota       INTEGER NOT NULL CHECK (quota >= 1),
  -- The quota is a hard limit even for a buggy caller (overproduction protection).
  issued      INTEGER NOT NULL DEFAULT 0 CHECK (issued >= 0 AND issued <= quota),
  -- JSON array of station ids, NULL = any authenticated station.
  stations    TEXT CHECK (stations IS NULL OR json_type(stations) = 'array'),
  status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE stations (
  id          TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('station', 'security-officer', 'admin')),
  created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE units (
  -- ATECC608 serial number: 9 bytes as 18 uppercase hex digits.
  serial             TEXT PRIMARY KEY CHECK (length(serial) = 18 AND serial NOT GLOB '*[^0-9A-F]*'),
  -- Raw P-256 X||Y; one key burned into two chips is a clone, refused by this index.
  public_key         BLOB NOT NULL UNIQUE CHECK (length(public_key) = 64),
  fingerprint_sha256 TEXT NOT NULL UNIQUE CHECK (length(fingerprint_sha256) = 64),
  certificate_der    BLOB NOT NULL,
  certificate_serial TEXT NOT NULL UNIQUE,
  work_order         TEXT NOT NULL REFERENCES work_orders(id),
  station            TEXT NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('issued', 'confirmed', 'quarantined', 'revoked')),
  status_reason      TEXT,
  idempotency_key    TEXT,
  issued_at          TEXT NOT NULL,
  confirmed_at       TEXT,
  updated_at         TEXT NOT NULL
) STRICT;

CREATE INDEX units_work_order ON units (work_order, serial);
CREATE INDEX units_status ON units (status, serial);

CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  subject   TEXT,
  detail    TEXT CHECK (detail IS NULL OR json_valid(detail)),
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
) STRICT;

-- Append-only: the log refuses to be rewritten through SQL (tampering then needs the triggers
-- dropped first, which the hash chain still detects).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
