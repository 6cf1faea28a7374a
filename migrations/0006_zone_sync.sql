-- Zone configuration sync: the last rejection a device reported on config/status.
-- (desired = newest zone_configs version; applied = devices.config_version.)
ALTER TABLE devices ADD COLUMN config_rejected_version INTEGER;
ALTER TABLE devices ADD COLUMN config_rejected_error TEXT;
CREATE INDEX idx_zone_configs_device ON zone_configs (device_id, version DESC);
