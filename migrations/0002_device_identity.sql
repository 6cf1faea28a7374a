-- Device identity, revocation and presence (issue: device identity and MQTT access).
--
-- Device keys are never stored: each is derived from the DEVICE_MASTER_KEY Worker secret,
-- the device id and key_generation (see workers/rs1/identity/keys.py). A leaked D1 or a D1
-- backup therefore holds no usable key; rotation increments key_generation.
ALTER TABLE devices ADD COLUMN model TEXT;
ALTER TABLE devices ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'revoked'));
ALTER TABLE devices ADD COLUMN status_changed_at DATETIME;
-- Presence as two max-registers (unix ms of the newest connect / disconnect event seen):
-- online = connected_at > disconnected_at. Max is commutative and idempotent, so late,
-- duplicated or reordered EMQX events converge on the same state.
ALTER TABLE devices ADD COLUMN presence_connected_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN presence_disconnected_at INTEGER NOT NULL DEFAULT 0;

CREATE INDEX idx_security_log_ip_time ON security_log (ip, timestamp);
