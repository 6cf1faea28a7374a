-- Issue 17: fleet targeting (cohort queries over device facts and tags), rollout policy
-- (rate ramps, windows, jitter, install-later, scheduled starts), health-gated soaks, and
-- rollback under a monotonic security version.

-- Device facts the cohort language and the soak read (written by the devices store).
ALTER TABLE devices ADD COLUMN version_key TEXT;           -- sortable semver key (rs1.query)
ALTER TABLE devices ADD COLUMN rssi INTEGER;               -- of the newest state message
ALTER TABLE devices ADD COLUMN utc_offset_min INTEGER;     -- device-reported, in `state`
ALTER TABLE devices ADD COLUMN owner_utc_offset_min INTEGER;  -- owner-set; wins when set
ALTER TABLE devices ADD COLUMN booted_at INTEGER;  -- unix ms: newest state's time - uptime
ALTER TABLE devices ADD COLUMN reboots INTEGER NOT NULL DEFAULT 0;  -- later boots seen
ALTER TABLE devices ADD COLUMN telemetry_at INTEGER;       -- unix ms, newest telemetry
ALTER TABLE devices ADD COLUMN radar_error_at INTEGER;     -- unix ms, newest radar_ok=false
ALTER TABLE devices ADD COLUMN radar_ok_at INTEGER;        -- unix ms, newest radar_ok=true
CREATE INDEX idx_devices_version_key ON devices (version_key);

-- Tags: admin-set, or reported by the device in `state` (an admin tag of the same key wins).
ALTER TABLE device_tags ADD COLUMN source TEXT NOT NULL DEFAULT 'admin'
    CHECK (source IN ('admin', 'device'));

-- Releases carry an anti-rollback counter, separate from semver.
ALTER TABLE firmware ADD COLUMN security_version INTEGER NOT NULL DEFAULT 0
    CHECK (security_version >= 0);

ALTER TABLE ota_rollouts ADD COLUMN cohort_query TEXT;      -- NULL: every device of the model
ALTER TABLE ota_rollouts ADD COLUMN cohort_percent REAL;    -- bucket share enrolled now
ALTER TABLE ota_rollouts ADD COLUMN policy_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE ota_rollouts ADD COLUMN start_at INTEGER;       -- unix ms; NULL: at once
ALTER TABLE ota_rollouts ADD COLUMN security_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ota_rollouts ADD COLUMN soak_ms INTEGER NOT NULL DEFAULT 0;  -- policy.health
ALTER TABLE ota_rollouts ADD COLUMN rollback_version TEXT;  -- offered after an abort
ALTER TABLE ota_rollouts ADD COLUMN rollback_rollout_id TEXT;
ALTER TABLE ota_rollouts ADD COLUMN rollback_of TEXT;       -- set on the rollback rollout
-- Rollouts made before the policy existed keep their behaviour: no soak, and the cohort of
-- their current stage.
UPDATE ota_rollouts SET policy_json = '{"health":{"soak_minutes":0.0}}',
    cohort_percent = target_percent;

ALTER TABLE ota_device_status ADD COLUMN joined_late INTEGER NOT NULL DEFAULT 0;  -- dynamic
ALTER TABLE ota_device_status ADD COLUMN soak TEXT
    CHECK (soak IS NULL OR soak IN ('soaking', 'passed', 'failed'));
ALTER TABLE ota_device_status ADD COLUMN soak_started_at INTEGER;  -- unix ms
ALTER TABLE ota_device_status ADD COLUMN soak_reboots INTEGER;     -- devices.reboots then
ALTER TABLE ota_device_status ADD COLUMN soak_error TEXT;
ALTER TABLE ota_device_status ADD COLUMN rolled_back INTEGER NOT NULL DEFAULT 0;
-- The rate limit counts triggers of the last minute.
CREATE INDEX idx_ota_status_triggered ON ota_device_status (rollout_id, triggered_at);

-- `downloaded` (waiting for the install window) ranks between verifying and installing.
UPDATE ota_device_status SET status_rank = status_rank + 1 WHERE status_rank IN (4, 5);
