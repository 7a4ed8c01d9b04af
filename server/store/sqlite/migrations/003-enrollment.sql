-- Field enrollment (server/enroll, protocol in server/enroll/PROTOCOL.md). Kept in the database,
-- not in process memory, so any server replica can check a nonce another one handed out.

-- Signed-challenge nonces: single use, short-lived, bound to the device and the certificate it
-- showed in its hello (a proof for another certificate cannot use it).
CREATE TABLE enroll_nonces (
  nonce            TEXT PRIMARY KEY CHECK (length(nonce) = 64 AND nonce NOT GLOB '*[^0-9a-f]*'),
  serial           TEXT NOT NULL CHECK (length(serial) = 18),
  cert_fingerprint TEXT NOT NULL CHECK (length(cert_fingerprint) = 64),
  expires_at       TEXT NOT NULL,
  used             INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
  created_at       TEXT NOT NULL
) STRICT;

CREATE INDEX enroll_nonces_expiry ON enroll_nonces (expires_at);

-- The first successful enrollment of each unit; later boots re-authenticate without a new row.
CREATE TABLE enrollments (
  serial  TEXT PRIMARY KEY REFERENCES units(serial),
  -- Chip counter 0 at enrollment (NULL for the mTLS path, which carries no counter).
  counter INTEGER CHECK (counter IS NULL OR counter BETWEEN 0 AND 4294967295),
  grp     TEXT NOT NULL,
  method  TEXT NOT NULL CHECK (method IN ('challenge', 'mtls')),
  at      TEXT NOT NULL
) STRICT;

-- The highest chip counter seen per device: a proof must carry a strictly greater one (replay).
CREATE TABLE device_counters (
  serial       TEXT PRIMARY KEY REFERENCES units(serial),
  last_counter INTEGER NOT NULL CHECK (last_counter BETWEEN 0 AND 4294967295),
  updated_at   TEXT NOT NULL
) STRICT;
