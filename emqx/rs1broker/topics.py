"""MQTT topic names and filters (MQTT 3.1.1 section 4.7)."""

MAX_TOPIC_BYTES = 65535


def _sane(text: str) -> bool:
    return bool(text) and "\x00" not in text and len(text.encode()) <= MAX_TOPIC_BYTES


def is_topic_name(topic: str) -> bool:
    """A topic a message may be published to: no wildcards."""
    return _sane(topic) and "+" not in topic and "#" not in topic


def is_topic_filter(topic_filter: str) -> bool:
    """`+` fills a whole level; `#` fills the whole last level."""
    if not _sane(topic_filter):
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "+" in level and level != "+":
            return False
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
    return True


def matches(topic_filter: str, topic: str) -> bool:
    # [MQTT-4.7.2-1]: a filter starting with a wildcard never matches a $-topic.
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    wanted = topic_filter.split("/")
    levels = topic.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(levels) or level not in ("+", levels[index]):
            return False
    return len(wanted) == len(levels)
