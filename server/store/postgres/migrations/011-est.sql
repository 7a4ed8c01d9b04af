-- EST (issue 17): the certificates a re-enrollment replaced, and the enrollment requests of
-- labels that need an operator's approval.

-- A unit's earlier certificates: a re-enrollment moves the current one here, in the transaction
-- that writes its successor into the unit (the unit row always holds the current certificate).
CREATE TABLE superseded_certificates (
  certificate_serial  TEXT COLLATE "C" PRIMARY KEY,
  serial              TEXT COLLATE "C" NOT NULL REFERENCES units(serial),
  public_key          BYTEA NOT NULL CHECK (length(public_key) = 64),
  fingerprint_sha256  TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(fingerprint_sha256) = 64),
  certificate_der     BYTEA NOT NULL,
  superseded_at       TEXT COLLATE "C" NOT NULL,
  -- The successor's certificate serial (lowercase hex).
  superseded_by       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX superseded_certificates_serial ON superseded_certificates (serial, superseded_at);
-- A key seen before, under any serial, is never certified again for another one.
CREATE INDEX superseded_certificates_key ON superseded_certificates (public_key);

-- An enrollment waiting for an operator (keyline est approve), matched by label and public key:
-- a client's retry carries a newly signed CSR for the same key (RFC 7030 §4.2.3).
CREATE TABLE enrollment_requests (
  label         TEXT COLLATE "C" NOT NULL,
  public_key    BYTEA NOT NULL CHECK (length(public_key) = 64),
  serial        TEXT COLLATE "C" NOT NULL CHECK (serial ~ '^[0-9A-F]{18}$'),
  csr_der       BYTEA NOT NULL,
  requested_by  TEXT NOT NULL,
  requested_at  TEXT COLLATE "C" NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by    TEXT,
  decided_at    TEXT COLLATE "C",
  PRIMARY KEY (label, public_key)
);
CREATE INDEX enrollment_requests_status ON enrollment_requests (status, requested_at);
