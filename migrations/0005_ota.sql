-- OTA: firmware artifacts and staged rollouts (extends the spec's ota_rollouts /
-- ota_device_status tables).
CREATE TABLE firmware (
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    signature TEXT NOT NULL,        -- base64 DER ECDSA P-256 / SHA-256
    min_version TEXT,
    object_key TEXT NOT NULL,       -- in R2 FIRMWARE: firmware/{model}/{version}.bin
    created_at TEXT NOT NULL,
    PRIMARY KEY (model, version)
);

ALTER TABLE ota_rollouts ADD COLUMN model TEXT NOT NULL DEFAULT 'RS-1';
ALTER TABLE ota_rollouts ADD COLUMN firmware_size INTEGER;
ALTER TABLE ota_rollouts ADD COLUMN firmware_signature TEXT;
ALTER TABLE ota_rollouts ADD COLUMN stages_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ota_rollouts ADD COLUMN current_stage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ota_rollouts ADD COLUMN stage_started_at INTEGER;      -- unix ms
ALTER TABLE ota_rollouts ADD COLUMN failure_threshold REAL NOT NULL DEFAULT 0.02;
ALTER TABLE ota_rollouts ADD COLUMN timeout_minutes INTEGER NOT NULL DEFAULT 60;
ALTER TABLE ota_rollouts ADD COLUMN allow_downgrade INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ota_rollouts ADD COLUMN device_ids_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ota_rollouts ADD COLUMN status_reason TEXT;
ALTER TABLE ota_rollouts ADD COLUMN updated_at INTEGER;            -- unix ms
CREATE INDEX idx_rollouts_model_status ON ota_rollouts (model, status);

ALTER TABLE ota_device_status ADD COLUMN status_rank INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ota_device_status ADD COLUMN stage INTEGER;             -- stage that took it in
ALTER TABLE ota_device_status ADD COLUMN from_version TEXT;
ALTER TABLE ota_device_status ADD COLUMN triggered_at INTEGER;     -- unix ms
ALTER TABLE ota_device_status ADD COLUMN trigger_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ota_device_status ADD COLUMN progress_at INTEGER;      -- unix ms of the last report
CREATE INDEX idx_ota_status_device ON ota_device_status (device_id, status);
