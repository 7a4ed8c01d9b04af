-- The latest CRL of the issuing CA and its number. RFC 5280 §5.2.3: the CRL Number increases
-- monotonically for a given issuer, so it lives here, shared by every process on the database,
-- never in a process's memory. One row: older CRLs are superseded and not kept.
CREATE TABLE crl_state (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  crl_number      INTEGER NOT NULL CHECK (crl_number > 0),
  this_update     TEXT NOT NULL,
  next_update     TEXT NOT NULL,
  -- revoked_certificates rowid of the last revocation the CRL covers.
  revocation_seq  INTEGER NOT NULL,
  der             BLOB NOT NULL
) STRICT;
