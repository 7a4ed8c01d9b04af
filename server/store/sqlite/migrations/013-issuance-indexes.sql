-- Fewer random-keyed index pages per issued unit (issue 13): each unit's insert touched about
-- ten B-tree indexes whose keys are random (serials, keys, hashes), so every unit dirtied a page
-- of each of its own, written at COMMIT and again at the checkpoint. Every uniqueness that
-- keeps one key out of two devices stays: chip serial, public key, certificate serial and
-- fingerprint (units), one registration per unit and registry.

-- No statement reads units by status through an index: the units list's optional filters
-- ((@status IS NULL OR status = @status)) always walk the serial index (EXPLAIN QUERY PLAN).
DROP INDEX units_status;

-- The work order's unit counts (countByStatus, the work-order progress and the console) are read
-- from this index alone; without the serial in its key, a work order's new entries follow the
-- rowid (issue order) and land on the same few pages instead of one random page per unit.
DROP INDEX units_work_order;
CREATE INDEX units_work_order ON units (work_order, station, status);

-- The audit log's UNIQUE (hash) is dropped: no statement looks a record up by its hash, and two
-- records cannot share one (the hash covers seq, the primary key, and the previous hash).
-- SQLite cannot drop a column constraint, so the table is rebuilt, its rows copied as they are
-- (the chain verifies unchanged), with its append-only triggers and its subject index.
CREATE TABLE audit_log_new (
  seq       INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  subject   TEXT,
  detail    TEXT CHECK (detail IS NULL OR json_valid(detail)),
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash      TEXT NOT NULL CHECK (length(hash) = 64)
) STRICT;
INSERT INTO audit_log_new (seq, at, actor, action, subject, detail, prev_hash, hash)
  SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_subject ON audit_log (subject, seq);
-- Append-only: the log refuses to be rewritten through SQL (as migration 001 set it up).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
