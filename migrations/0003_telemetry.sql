-- Telemetry: exactly-once raw rows, dirty markers for late events, hourly rollups, archives.

-- Hot raw telemetry (kept 7 days, then deleted once its hour's archive is verified).
-- Exactly once: one row per (device_id, message_id). A redelivered copy keeps the earliest
-- (received_at, payload), so any delivery order converges on the same row.
CREATE TABLE telemetry_raw (
    device_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    ts INTEGER NOT NULL,            -- device clock, unix ms (payload ts)
    received_at INTEGER NOT NULL,   -- broker clock, unix ms (EMQX publish_received_at)
    hour INTEGER NOT NULL,          -- floor(received_at / 3600000): the bucket it belongs to
    payload TEXT NOT NULL,          -- canonical JSON (sorted keys)
    PRIMARY KEY (device_id, message_id)
);
CREATE INDEX idx_telemetry_raw_hour ON telemetry_raw (hour, device_id);
CREATE INDEX idx_telemetry_raw_device_time ON telemetry_raw (device_id, received_at);

-- (device, hour) pairs whose rollup (and hour archive) must be recomputed. `gen` increments
-- on every write so the cron deletes a marker only if nothing arrived while it worked.
CREATE TABLE telemetry_dirty (
    device_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    gen INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (device_id, hour)
);
CREATE INDEX idx_telemetry_dirty_hour ON telemetry_dirty (hour);

CREATE TABLE telemetry_hourly (
    device_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    max_target_count INTEGER,
    occupancy_json TEXT NOT NULL,   -- {"zone_id": occupied_fraction}
    metrics_json TEXT NOT NULL,     -- {"health.rssi": {"count","min","max","avg"}, ...}
    PRIMARY KEY (device_id, hour)
);

CREATE TABLE telemetry_archives (
    hour INTEGER PRIMARY KEY,
    object_key TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0
);
