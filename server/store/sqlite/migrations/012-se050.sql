-- keyline: foreign_keys off
-- Two secure elements (issue 15): a work order names its chip (ATECC608 or NXP SE050) and whether
-- its units need manufacturer-signed key-origin evidence; chip serials are 18 hex digits (the
-- ATECC608's 9 bytes) or 36 (the SE050's 18-byte unique id); the evidence a station sent for a
-- unit is kept with it.

ALTER TABLE work_orders ADD COLUMN chip TEXT NOT NULL DEFAULT 'atecc608' CHECK (chip IN ('atecc608', 'se050'));
ALTER TABLE work_orders ADD COLUMN require_attestation INTEGER NOT NULL DEFAULT 0 CHECK (require_attestation IN (0, 1));

-- SQLite cannot change a CHECK in place: the three tables whose serial CHECK says 18 digits are
-- rebuilt the way sqlite.org/lang_altertable.html §7 gives, which is why this migration runs with
-- foreign-key enforcement off (the first line tells migrate.ts; it runs PRAGMA foreign_key_check
-- before committing). The other tables' REFERENCES units(serial) name "units", so they point at
-- the rebuilt table. The rows are copied as they are: every stored serial is 18 digits, which the
-- wider CHECK still admits.
CREATE TABLE units_new (
  -- Chip serial: ATECC608 9 bytes as 18 uppercase hex digits, SE050 unique id 18 bytes as 36.
  serial             TEXT PRIMARY KEY CHECK (length(serial) IN (18, 36) AND serial NOT GLOB '*[^0-9A-F]*'),
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
INSERT INTO units_new SELECT * FROM units;
DROP TABLE units;
ALTER TABLE units_new RENAME TO units;
CREATE INDEX units_work_order ON units (work_order, serial);
CREATE INDEX units_status ON units (status, serial);

CREATE TABLE enroll_nonces_new (
  nonce            TEXT PRIMARY KEY CHECK (length(nonce) = 64 AND nonce NOT GLOB '*[^0-9a-f]*'),
  serial           TEXT NOT NULL CHECK (length(serial) IN (18, 36)),
  cert_fingerprint TEXT NOT NULL CHECK (length(cert_fingerprint) = 64),
  expires_at       TEXT NOT NULL,
  used             INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
  created_at       TEXT NOT NULL
) STRICT;
INSERT INTO enroll_nonces_new SELECT * FROM enroll_nonces;
DROP TABLE enroll_nonces;
ALTER TABLE enroll_nonces_new RENAME TO enroll_nonces;
CREATE INDEX enroll_nonces_expiry ON enroll_nonces (expires_at);

CREATE TABLE enrollment_requests_new (
  label         TEXT NOT NULL,
  public_key    BLOB NOT NULL CHECK (length(public_key) = 64),
  serial        TEXT NOT NULL CHECK (length(serial) IN (18, 36) AND serial NOT GLOB '*[^0-9A-F]*'),
  csr_der       BLOB NOT NULL,
  requested_by  TEXT NOT NULL,
  requested_at  TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by    TEXT,
  decided_at    TEXT,
  PRIMARY KEY (label, public_key)
) STRICT;
INSERT INTO enrollment_requests_new SELECT * FROM enrollment_requests;
DROP TABLE enrollment_requests;
ALTER TABLE enrollment_requests_new RENAME TO enrollment_requests;
CREATE INDEX enrollment_requests_status ON enrollment_requests (status, requested_at);

-- The key-origin evidence a station sent with a unit's issue request, and what the server made of
-- it (services/key-origin.ts), written in the unit's own transaction. 'verified': an SE050
-- attested read that chains to a configured manufacturer root; 'invalid': evidence that did not
-- verify (reason says why); 'unattested': an ATECC608's report, which no manufacturer key signs.
CREATE TABLE unit_attestations (
  serial       TEXT PRIMARY KEY REFERENCES units(serial),
  chip         TEXT NOT NULL CHECK (chip IN ('atecc608', 'se050')),
  format       TEXT NOT NULL CHECK (format IN ('se05x-attested-read', 'atecc608-unattested')),
  status       TEXT NOT NULL CHECK (status IN ('verified', 'invalid', 'unattested')),
  reason       TEXT,
  -- The evidence as received (JSON, binary fields in hex), enough to verify it again later.
  evidence     TEXT NOT NULL CHECK (json_valid(evidence)),
  -- What verification established (unique id, key attributes, attestation and root subjects).
  facts        TEXT CHECK (facts IS NULL OR json_valid(facts)),
  recorded_at  TEXT NOT NULL
) STRICT;
