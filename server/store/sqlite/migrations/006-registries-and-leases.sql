-- Cloud registries (issue 6) and replicas (issue 7).

-- How a work order's units count as complete at the station: 'confirmed' waits until every
-- registry has confirmed the registration; 'queued' accepts registrations durably queued in
-- the outbox (the line then runs at its own pace and `keyline reconcile` gates the shipment).
ALTER TABLE work_orders ADD COLUMN preregistration TEXT NOT NULL DEFAULT 'confirmed'
  CHECK (preregistration IN ('confirmed', 'queued'));

-- outbox_jobs gains the 'awaiting' state: a CA-level registration (AWS JITP, an Azure DPS
-- enrollment group) covers the unit, and the job stays open until the registry reports the
-- device's first connection. SQLite cannot alter a CHECK, so the table is rebuilt.
CREATE TABLE outbox_jobs_new (
  id              INTEGER PRIMARY KEY,
  serial          TEXT NOT NULL REFERENCES units(serial),
  registry        TEXT NOT NULL CHECK (length(registry) BETWEEN 1 AND 64),
  action          TEXT NOT NULL CHECK (action IN ('register', 'revoke')),
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'awaiting', 'delivered', 'parked')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT NOT NULL,
  last_error      TEXT,
  lease_until     TEXT,
  -- The registry's identifier once it accepted the unit (set for 'awaiting' and 'delivered').
  external_id     TEXT,
  created_at      TEXT NOT NULL,
  delivered_at    TEXT
) STRICT;
INSERT INTO outbox_jobs_new (id, serial, registry, action, status, attempts, next_attempt_at, last_error, lease_until, created_at, delivered_at)
  SELECT id, serial, registry, action, status, attempts, next_attempt_at, last_error, lease_until, created_at, delivered_at FROM outbox_jobs;
DROP TABLE outbox_jobs;
ALTER TABLE outbox_jobs_new RENAME TO outbox_jobs;
CREATE INDEX outbox_jobs_due ON outbox_jobs (status, next_attempt_at);
CREATE INDEX outbox_jobs_serial ON outbox_jobs (serial, registry);

-- Named leases shared by every replica on the database: one holder at a time until `until`
-- (the CRL issuer, singleton housekeeping). A replica that dies leaves a lease that expires.
CREATE TABLE leases (
  name   TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  holder TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 128),
  until  TEXT NOT NULL
) STRICT;
