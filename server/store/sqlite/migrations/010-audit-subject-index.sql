-- A unit's story in the console (issue 18): its audit records are found by subject (the chip
-- serial, or the certificate serial for certificate.revoke) without walking the whole log.
CREATE INDEX audit_log_subject ON audit_log (subject, seq);
