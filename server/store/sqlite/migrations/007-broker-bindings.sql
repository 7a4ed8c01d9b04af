-- Issue 11 hole 4: serials whose device has authenticated to the embedded MQTT broker with its
-- client certificate. From then on the broker refuses that client id to any connection without
-- the certificate (server/enroll/device-admission.ts); kept here so a restart, or another
-- replica, does not forget it. One row per unit, written once, never updated.
CREATE TABLE broker_bindings (
  serial   TEXT PRIMARY KEY REFERENCES units(serial),
  bound_at TEXT NOT NULL
) STRICT;
