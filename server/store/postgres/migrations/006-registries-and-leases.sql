-- Cloud registries (issue 6) and replicas (issue 7).

-- How a work order's units count as complete at the station: 'confirmed' waits until every
-- registry has confirmed the registration; 'queued' accepts registrations durably queued in
-- the outbox (the line then runs at its own pace and `keyline reconcile` gates the shipment).
ALTER TABLE work_orders ADD COLUMN preregistration TEXT NOT NULL DEFAULT 'confirmed'
  CHECK (preregistration IN ('confirmed', 'queued'));

-- outbox_jobs gains the 'awaiting' state: a CA-level registration (AWS JITP, an Azure DPS
-- enrollment group) covers the unit, and the job stays open until the registry reports the
-- device's first connection. PostgreSQL alters the CHECK in place (SQLite rebuilds the table).
ALTER TABLE outbox_jobs DROP CONSTRAINT outbox_jobs_status_check;
ALTER TABLE outbox_jobs ADD CONSTRAINT outbox_jobs_status_check
  CHECK (status IN ('pending', 'awaiting', 'delivered', 'parked'));
-- The registry's identifier once it accepted the unit (set for 'awaiting' and 'delivered').
ALTER TABLE outbox_jobs ADD COLUMN external_id TEXT;

-- Named leases shared by every replica on the database: one holder at a time until `until`
-- (the CRL issuer, singleton housekeeping). A replica that dies leaves a lease that expires.
CREATE TABLE leases (
  name   TEXT COLLATE "C" PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  holder TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 128),
  until  TEXT COLLATE "C" NOT NULL
);
