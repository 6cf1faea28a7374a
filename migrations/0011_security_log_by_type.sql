-- GET /admin/security-log?type= pages one event type newest first (ORDER BY id DESC): an
-- index on event_type alone carries the rowid (id), so that order needs no sort of the type.
CREATE INDEX idx_security_log_type_id ON security_log (event_type);
