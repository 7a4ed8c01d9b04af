-- Preregistration outbox (server/registry). A unit's record and its registration jobs are
-- written in one transaction, so a unit can never exist without the jobs that announce it.

-- The registries a work order's units must reach (JSON array of registry names).
ALTER TABLE work_orders ADD COLUMN registries TEXT NOT NULL DEFAULT '["self"]'
  CHECK (json_type(registries) = 'array');

CREATE TABLE outbox_jobs (
  id              INTEGER PRIMARY KEY,
  serial          TEXT NOT NULL REFERENCES units(serial),
  registry        TEXT NOT NULL CHECK (length(registry) BETWEEN 1 AND 64),
  action          TEXT NOT NULL CHECK (action IN ('register', 'revoke')),
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'parked')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT NOT NULL,
  last_error      TEXT,
  -- A worker holds a job until lease_until; another worker may take it only after that.
  lease_until     TEXT,
  created_at      TEXT NOT NULL,
  delivered_at    TEXT
) STRICT;

CREATE INDEX outbox_jobs_due ON outbox_jobs (status, next_attempt_at);
CREATE INDEX outbox_jobs_serial ON outbox_jobs (serial, registry);

-- Confirmed registrations: one per unit and registry, which makes a retried delivery harmless.
CREATE TABLE registrations (
  serial        TEXT NOT NULL,
  registry      TEXT NOT NULL,
  external_id   TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  UNIQUE (serial, registry)
) STRICT;
