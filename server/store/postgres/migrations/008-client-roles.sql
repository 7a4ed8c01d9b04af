-- Roles from the client certificate's OU (issue 11, common/roles.ts): operator and auditor join
-- station and security-officer. 'admin' was never issued by any ceremony; a row carrying it
-- becomes an operator.
ALTER TABLE stations DROP CONSTRAINT stations_role_check;
UPDATE stations SET role = 'operator' WHERE role = 'admin';
ALTER TABLE stations ADD CONSTRAINT stations_role_check CHECK (role IN ('station', 'operator', 'security-officer', 'auditor'));
