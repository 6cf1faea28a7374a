-- Issue 16: the audit trail, scoped API keys, outbound events (a D1 outbox) and device tags.

-- One record per mutating API call, written in the same D1 batch as the change
-- (rs1.audit.database). Append-only: the triggers refuse UPDATE and DELETE, and no API offers
-- either. seq orders the records; the daily export's hash chain follows it.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    audit_id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'admin', 'api_key')),
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX idx_audit_at ON audit_log (at);
CREATE INDEX idx_audit_actor ON audit_log (actor_id, seq);
CREATE INDEX idx_audit_target ON audit_log (target_id, seq);
CREATE INDEX idx_audit_action ON audit_log (action, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The daily exports to R2 (BACKUPS audit/<day>.jsonl): each day's chain head, the anchor
-- `rs1ctl audit verify` checks the files against.
CREATE TABLE audit_exports (
    day TEXT PRIMARY KEY,
    prev_hash TEXT NOT NULL,
    last_hash TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seq INTEGER,
    last_seq INTEGER NOT NULL,
    object_key TEXT NOT NULL,
    exported_at TEXT NOT NULL
);

-- Integration keys: rs1_live_<key_id>_<secret>, stored only as sha256 of the whole key.
CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    sub TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    uses INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT
);

-- Outbound events. An event is inserted in the batch of its state change, with one delivery
-- row per enabled endpoint subscribed to its type; the telemetry Worker's cron drains due
-- deliveries. Event ids are derived from what happened (type + natural key), so a retried
-- webhook or cron re-emits the same id and INSERT OR IGNORE keeps one.
CREATE TABLE event_endpoints (
    endpoint_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    event_types TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);

CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX idx_events_created ON events (created_ms);
CREATE INDEX idx_events_type ON events (type, created_ms);

CREATE TABLE event_deliveries (
    delivery_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (event_id),
    endpoint_id TEXT NOT NULL REFERENCES event_endpoints (endpoint_id),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    last_attempt_ms INTEGER,
    last_status INTEGER,
    last_error TEXT,
    delivered_ms INTEGER
);
CREATE INDEX idx_deliveries_due ON event_deliveries (status, next_attempt_ms);
CREATE INDEX idx_deliveries_event ON event_deliveries (event_id);
CREATE INDEX idx_deliveries_endpoint ON event_deliveries (endpoint_id, created_ms);

-- The delivery log: one row per attempt.
CREATE TABLE event_attempts (
    delivery_id TEXT NOT NULL REFERENCES event_deliveries (delivery_id),
    attempt INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- Admin-set key=value tags (issue 17 builds cohorts on them).
CREATE TABLE device_tags (
    device_id TEXT NOT NULL REFERENCES devices (device_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
);
CREATE INDEX idx_device_tags_kv ON device_tags (key, value);
