"""The RS-1 topic namespace: opticworks/{device_id}/..."""

ROOT = "opticworks"
MAX_TOPIC_LENGTH = 256

# What a device may publish under its own namespace; "telemetry" covers telemetry/# too.
PUBLISH_SUFFIXES = frozenset({("state",), ("ota", "status"), ("config", "status")})
TELEMETRY = "telemetry"
# What a device may subscribe to: exactly these filters, no wildcards.
SUBSCRIBE_SUFFIXES = frozenset({("ota", "trigger"), ("config", "update"), ("diag", "request")})


def device_topic(device_id: str, *suffix: str) -> str:
    return "/".join((ROOT, device_id, *suffix))


def device_of(topic: str) -> str | None:
    """The device id a topic belongs to, or None outside opticworks/{id}/..."""
    levels = topic.split("/")
    if len(levels) >= 3 and levels[0] == ROOT:
        return levels[1]
    return None


def has_wildcard(topic: str) -> bool:
    return "+" in topic or "#" in topic
