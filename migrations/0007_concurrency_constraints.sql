-- Check-then-write paths made safe by the database rather than by timing: racing requests
-- that would break one of these rules fail on the constraint, whatever code path they take.

-- At most one owner per device (racing claims used to make several). Rows from such races
-- keep their earliest owner; the others become viewers, so nobody loses sight of the device.
UPDATE device_ownership SET role = 'viewer'
WHERE role = 'owner' AND rowid NOT IN (
    SELECT MIN(rowid) FROM device_ownership WHERE role = 'owner' GROUP BY device_id
);
CREATE UNIQUE INDEX uq_ownership_one_owner ON device_ownership (device_id) WHERE role = 'owner';

-- At most one live (active or paused) rollout per model. Of duplicates from a past race the
-- oldest stays live; the others are aborted, with the reason recorded.
UPDATE ota_rollouts SET status = 'aborted', status_reason = 'second live rollout of its model'
WHERE status IN ('active', 'paused') AND rowid NOT IN (
    SELECT MIN(rowid) FROM ota_rollouts WHERE status IN ('active', 'paused') GROUP BY model
);
CREATE UNIQUE INDEX uq_rollouts_one_live_per_model ON ota_rollouts (model)
WHERE status IN ('active', 'paused');
