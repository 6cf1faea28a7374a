-- The firmware version follows the newest `state` message by that message's own time, not by
-- last_seen: telemetry and connect events also move last_seen, so a state processed after a
-- newer telemetry message (EMQX keeps no order between rules) used to lose its version.
ALTER TABLE devices ADD COLUMN state_at TEXT;
