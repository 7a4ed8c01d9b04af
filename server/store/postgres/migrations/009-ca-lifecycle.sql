-- The CA's whole life (issue 19): several issuing CAs side by side, each with its own CRL; which
-- one issues is a row every process reads (keyline ca activate), not a line of keyline.json; the
-- root's CRL (an ARL) as imported from the offline ceremony; ceremony transcripts imported into
-- the audit log.

-- crl_state becomes one row per issuing CA, keyed by the CA's key identifier (its SKI, hex): RFC
-- 5280 §5.2.3 numbers CRLs per issuer. The single row of earlier builds is kept under '' until
-- the publisher of the CA it belongs to (the CRL's AKI says which) takes its number over.
CREATE TABLE crl_state_new (
  issuer_key_id   TEXT COLLATE "C" PRIMARY KEY CHECK (issuer_key_id ~ '^([0-9a-f]{2,128})?$'),
  crl_number      BIGINT NOT NULL CHECK (crl_number > 0),
  this_update     TEXT COLLATE "C" NOT NULL,
  next_update     TEXT COLLATE "C" NOT NULL,
  -- revoked_certificates.seq of the last revocation the CRL covers.
  revocation_seq  BIGINT NOT NULL,
  der             BYTEA NOT NULL
);
INSERT INTO crl_state_new (issuer_key_id, crl_number, this_update, next_update, revocation_seq, der)
  SELECT '', crl_number, this_update, next_update, revocation_seq, der FROM crl_state;
DROP TABLE crl_state;
ALTER TABLE crl_state_new RENAME TO crl_state;
ALTER TABLE crl_state RENAME CONSTRAINT crl_state_new_pkey TO crl_state_pkey;

-- "From activate_at on, the issuing CA with this key identifier issues": the newest row whose
-- time has come wins; no row = the first CA keyline.json lists. Rows are never changed.
CREATE TABLE ca_activations (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_id       TEXT COLLATE "C" NOT NULL CHECK (key_id ~ '^[0-9a-f]{2,128}$'),
  activate_at  TEXT COLLATE "C" NOT NULL,
  actor        TEXT NOT NULL,
  created_at   TEXT COLLATE "C" NOT NULL
);

-- The root's CRLs as imported (keyline ca import-crl, or ca.rootCrl at start-up); the greatest
-- number is the one served and obeyed.
CREATE TABLE root_crls (
  crl_number   BIGINT PRIMARY KEY CHECK (crl_number > 0),
  this_update  TEXT COLLATE "C" NOT NULL,
  next_update  TEXT COLLATE "C" NOT NULL,
  der          BYTEA NOT NULL,
  imported_at  TEXT COLLATE "C" NOT NULL
);

-- Ceremony transcript entries already appended to the audit log (keyline audit import is idempotent).
CREATE TABLE ceremony_imports (
  transcript_id  TEXT COLLATE "C" NOT NULL,
  seq            BIGINT NOT NULL,
  hash           TEXT COLLATE "C" NOT NULL,
  imported_at    TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (transcript_id, seq)
);
