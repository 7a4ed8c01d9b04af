-- Roles from the client certificate's OU (issue 11, common/roles.ts): operator and auditor join
-- station and security-officer. 'admin' was never issued by any ceremony; a row carrying it
-- becomes an operator. SQLite cannot alter a CHECK: the table is rebuilt (nothing references it).
CREATE TABLE stations_new (
  id          TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('station', 'operator', 'security-officer', 'auditor')),
  created_at  TEXT NOT NULL
) STRICT;
INSERT INTO stations_new (id, fingerprint, role, created_at)
  SELECT id, fingerprint, CASE role WHEN 'admin' THEN 'operator' ELSE role END, created_at FROM stations;
DROP TABLE stations;
ALTER TABLE stations_new RENAME TO stations;
