-- Fewer index entries per issued unit (issue 13), as SQLite's migration 013: the audit log's
-- UNIQUE (hash) goes, since no statement looks a record up by its hash and two records cannot
-- share one (the hash covers seq, the primary key, and the previous hash). Every uniqueness
-- that keeps one key out of two devices stays (units: chip serial, public key, certificate
-- serial, fingerprint; registrations: unit and registry). units_status and units_work_order
-- stay here: with parameters bound, PostgreSQL plans the units list's status and work-order
-- filters onto them (SQLite never does).
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_hash_key;
