-- Two secure elements (issue 15): a work order names its chip (ATECC608 or NXP SE050) and whether
-- its units need manufacturer-signed key-origin evidence; chip serials are 18 hex digits (the
-- ATECC608's 9 bytes) or 36 (the SE050's 18-byte unique id); the evidence a station sent for a
-- unit is kept with it.

ALTER TABLE work_orders ADD COLUMN chip TEXT NOT NULL DEFAULT 'atecc608' CHECK (chip IN ('atecc608', 'se050'));
ALTER TABLE work_orders ADD COLUMN require_attestation SMALLINT NOT NULL DEFAULT 0 CHECK (require_attestation IN (0, 1));

-- The serial CHECKs that said 18 digits admit 36 as well (column CHECKs are named <table>_<column>_check).
ALTER TABLE units DROP CONSTRAINT units_serial_check,
  ADD CONSTRAINT units_serial_check CHECK (serial ~ '^([0-9A-F]{18}|[0-9A-F]{36})$');
ALTER TABLE enroll_nonces DROP CONSTRAINT enroll_nonces_serial_check,
  ADD CONSTRAINT enroll_nonces_serial_check CHECK (length(serial) IN (18, 36));
ALTER TABLE enrollment_requests DROP CONSTRAINT enrollment_requests_serial_check,
  ADD CONSTRAINT enrollment_requests_serial_check CHECK (serial ~ '^([0-9A-F]{18}|[0-9A-F]{36})$');

-- The key-origin evidence a station sent with a unit's issue request, and what the server made of
-- it (services/key-origin.ts), written in the unit's own transaction. 'verified': an SE050
-- attested read that chains to a configured manufacturer root; 'invalid': evidence that did not
-- verify (reason says why); 'unattested': an ATECC608's report, which no manufacturer key signs.
CREATE TABLE unit_attestations (
  serial       TEXT COLLATE "C" PRIMARY KEY REFERENCES units(serial),
  chip         TEXT NOT NULL CHECK (chip IN ('atecc608', 'se050')),
  format       TEXT NOT NULL CHECK (format IN ('se05x-attested-read', 'atecc608-unattested')),
  status       TEXT NOT NULL CHECK (status IN ('verified', 'invalid', 'unattested')),
  reason       TEXT,
  -- The evidence as received (JSON, binary fields in hex), enough to verify it again later.
  evidence     TEXT NOT NULL CHECK (jsonb_typeof(evidence::jsonb) = 'object'),
  -- What verification established (unique id, key attributes, attestation and root subjects).
  facts        TEXT CHECK (facts IS NULL OR jsonb_typeof(facts::jsonb) = 'object'),
  recorded_at  TEXT COLLATE "C" NOT NULL
);
