"""The event types an endpoint may subscribe to."""

EVENT_TYPES = (
    "device.enrolled",
    "device.online",
    "device.offline",
    "device.revoked",
    "zone.applied",
    "zone.rejected",
    "ota.device_failed",
    "rollout.stage_advanced",
    "rollout.completed",
    "rollout.aborted",
    "alert.opened",
    "alert.resolved",
)
