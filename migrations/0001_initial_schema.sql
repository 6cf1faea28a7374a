-- RS-1 Cloud initial schema: the tables of the architecture spec (section 7), plus
-- security_log (infrastructure spec 11.3). Never edit an applied migration; add a new one.

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY CHECK (length(device_id) = 32),
    mac_address TEXT NOT NULL UNIQUE,
    firmware_version TEXT,
    last_seen DATETIME,
    online BOOLEAN NOT NULL DEFAULT 0,
    config_version INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_devices_online ON devices (online);
CREATE INDEX idx_devices_firmware ON devices (firmware_version);

CREATE TABLE device_ownership (
    device_id TEXT NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'viewer')),
    PRIMARY KEY (device_id, user_id)
);
-- "my devices" lists scan by user.
CREATE INDEX idx_ownership_user ON device_ownership (user_id);

CREATE TABLE zone_configs (
    device_id TEXT NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    config_json TEXT NOT NULL,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_by TEXT,
    PRIMARY KEY (device_id, version)
);

CREATE TABLE ota_rollouts (
    rollout_id TEXT PRIMARY KEY,
    firmware_version TEXT NOT NULL,
    firmware_url TEXT NOT NULL,
    firmware_sha256 TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    target_percent INTEGER NOT NULL DEFAULT 0 CHECK (target_percent BETWEEN 0 AND 100),
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_rollouts_status ON ota_rollouts (status);

CREATE TABLE ota_device_status (
    device_id TEXT NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    rollout_id TEXT NOT NULL REFERENCES ota_rollouts (rollout_id) ON DELETE CASCADE,
    status TEXT,
    progress INTEGER CHECK (progress IS NULL OR progress BETWEEN 0 AND 100),
    error_message TEXT,
    updated_at DATETIME,
    PRIMARY KEY (device_id, rollout_id)
);
-- Rollout dashboards count devices per status.
CREATE INDEX idx_ota_status_rollout ON ota_device_status (rollout_id, status);

CREATE TABLE security_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type TEXT NOT NULL,
    details TEXT,
    ip TEXT,
    timestamp DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_security_log_type_time ON security_log (event_type, timestamp);
