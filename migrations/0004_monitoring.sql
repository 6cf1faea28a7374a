-- Monitoring: alerts with open/resolved state, and per-minute API request/error counts.
CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY,      -- kind, or kind:subject (e.g. ota_failure_rate:<rollout>)
    kind TEXT NOT NULL,
    subject TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    message TEXT NOT NULL,
    value REAL,
    threshold REAL,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX idx_alerts_status ON alerts (status, updated_at);

CREATE TABLE api_stats (
    minute INTEGER NOT NULL,        -- unix minute
    worker TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,  -- 5xx answers
    PRIMARY KEY (minute, worker)
);
