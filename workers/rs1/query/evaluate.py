"""The cohort query in plain Python, over one device's facts: the reference the SQL compiler
(rs1.devices.cohort_store) is tested against."""

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rs1.query.parser import Atom, Bool, Node, Not
from rs1.query.version_key import version_key
from rs1.timefmt import iso_ms

DEFAULT_MODEL = "RS-1"  # a device without a model counts as one (as rollouts do)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


@dataclass(frozen=True)
class DeviceFacts:
    device_id: str
    version: str | None = None
    model: str | None = None
    online: bool = False
    last_seen: str | None = None  # ISO-8601, as devices.last_seen
    rssi: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    owners: frozenset[str] = frozenset()
    config: str = "none"  # applied | pending | rejected | none
    status: str = "active"


def matches(node: Node, device: DeviceFacts, now_ms: int) -> bool:
    if isinstance(node, Not):
        return not matches(node.item, device, now_ms)
    if isinstance(node, Bool):
        results = (matches(item, device, now_ms) for item in node.items)
        return all(results) if node.op == "and" else any(results)
    return _atom(node, device, now_ms)


def _atom(a: Atom, d: DeviceFacts, now_ms: int) -> bool:
    compare = _OPS.get(a.op)
    if a.field == "online":
        return d.online == (a.op == "=")
    if a.field == "version":
        mine, theirs = version_key(d.version or ""), version_key(str(a.value))
        return mine is not None and compare is not None and compare(mine, theirs)
    if a.field == "rssi":
        return d.rssi is not None and compare is not None and compare(d.rssi, a.value)
    if a.field == "seen":
        since = iso_ms(now_ms - int(a.value))  # type: ignore[arg-type]
        if a.op == "<":
            return d.last_seen is not None and d.last_seen >= since
        return d.last_seen is None or d.last_seen < since
    if a.field == "tag":
        return _tag(a, d)
    value = {
        "model": d.model or DEFAULT_MODEL, "config": d.config, "status": d.status,
        "id": d.device_id,
    }.get(a.field)  # fmt: skip
    if a.field == "owner":
        hit = a.value in d.owners
        return hit if a.op == "=" else not hit
    return compare is not None and compare(value, a.value)


def _tag(a: Atom, d: DeviceFacts) -> bool:
    value = d.tags.get(a.key or "")
    if a.op == "has":
        return value is not None
    if a.op == "in":
        return value in tuple(a.value or ())  # type: ignore[arg-type]
    hit = value == a.value
    return hit if a.op == "=" else not hit
