"""The device topic policy (EMQX HTTP authorization): a pure function.

A device (username == client id == device id) may
- publish to opticworks/{id}/state, opticworks/{id}/telemetry[/...], opticworks/{id}/ota/status,
  opticworks/{id}/config/status — concrete topics only, no wildcards;
- subscribe to exactly opticworks/{id}/ota/trigger, .../config/update, .../diag/request.
Any wildcard subscription could reach beyond that set (a `+`/`#` level matches any name), so
wildcard filters are denied; so are `$` topics (incl. $share/$queue), empty levels, other
devices' namespaces and NUL/oversized topics.
"""

from dataclasses import dataclass

from rs1contract.topics import (
    MAX_TOPIC_LENGTH,
    PUBLISH_SUFFIXES,
    ROOT,
    SUBSCRIBE_SUFFIXES,
    TELEMETRY,
    has_wildcard,
)

from rs1.identity.device_id import is_device_id

ACTIONS = ("publish", "subscribe")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    @property
    def result(self) -> str:
        return "allow" if self.allowed else "deny"


ALLOW = Decision(True, "ok")


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def _publish_allowed(suffix: tuple[str, ...]) -> bool:
    return suffix in PUBLISH_SUFFIXES or suffix[0] == TELEMETRY


def authorize(username: str, clientid: str, action: str, topic: str) -> Decision:
    if not is_device_id(username):
        return _deny("username is not a device id")
    if clientid != username:
        return _deny("client id differs from username")
    if action not in ACTIONS:
        return _deny(f"unknown action {action!r}")
    if not topic or len(topic) > MAX_TOPIC_LENGTH or "\x00" in topic:
        return _deny("empty, oversized or NUL topic")
    if topic.startswith("$"):
        return _deny("system or shared-subscription topic")
    levels = tuple(topic.split("/"))
    if len(levels) < 3 or levels[0] != ROOT:
        return _deny("outside the opticworks namespace")
    if levels[1] != username:
        return _deny("another device's topic")
    if has_wildcard(topic):
        return _deny("wildcards are not allowed")
    suffix = levels[2:]
    if "" in suffix:
        return _deny("empty topic level")
    if action == "publish":
        return ALLOW if _publish_allowed(suffix) else _deny("not a publish topic")
    return ALLOW if suffix in SUBSCRIBE_SUFFIXES else _deny("not a subscribe topic")
