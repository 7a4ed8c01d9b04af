-- Revoked certificates of every kind this PKI issues (devices, stations, officers). The API
-- refuses a revoked station certificate at every request; the CRL and OCSP responder read here.
CREATE TABLE revoked_certificates (
  -- Lowercase hex of the serial number's value, no leading zeros (as Node and OpenSSL print it).
  certificate_serial TEXT PRIMARY KEY CHECK (certificate_serial NOT GLOB '*[^0-9a-f]*' AND certificate_serial NOT GLOB '0?*'),
  kind        TEXT NOT NULL CHECK (kind IN ('device', 'station', 'other')),
  subject     TEXT,
  -- RFC 5280 §5.3.1 CRLReason names.
  reason      TEXT NOT NULL CHECK (reason IN ('unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged',
                'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise')),
  revoked_at  TEXT NOT NULL,
  revoked_by  TEXT NOT NULL
) STRICT;
