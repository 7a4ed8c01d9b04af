-- Revoked certificates of every kind this PKI issues (devices, stations, officers). The API
-- refuses a revoked station certificate at every request; the CRL and OCSP responder read here.
CREATE TABLE revoked_certificates (
  -- Lowercase hex of the serial number's value, no leading zeros (as Node and OpenSSL print it).
  certificate_serial TEXT COLLATE "C" PRIMARY KEY CHECK (certificate_serial ~ '^([1-9a-f][0-9a-f]*|0)$'),
  kind        TEXT NOT NULL CHECK (kind IN ('device', 'station', 'other')),
  subject     TEXT,
  -- RFC 5280 §5.3.1 CRLReason names.
  reason      TEXT NOT NULL CHECK (reason IN ('unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged',
                'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise')),
  revoked_at  TEXT COLLATE "C" NOT NULL,
  revoked_by  TEXT NOT NULL,
  -- SQLite's implicit rowid, made explicit: the insertion sequence other processes poll
  -- (revocations.listSince). Inserts are serialised (PgStore's write lock), so seq order is
  -- commit order and a poller never skips a revocation committed late with a smaller seq.
  seq         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
