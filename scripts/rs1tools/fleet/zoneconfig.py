"""config/update handling: validate like the firmware does, answer with a ConfigStatus.

Payload: {"version": int, "config": {"zones": [{"name": str, "vertices": [[x, y], ...]}]}}.
A version must be newer than the applied one; a zone list holds at most 16 zones of 3..12
vertices each.
"""

import json
from dataclasses import dataclass
from typing import Any

from rs1contract.payloads import ConfigStatus

MAX_ZONES = 16
MIN_VERTICES, MAX_VERTICES = 3, 12
MAX_ERROR = 512  # ConfigStatus.error's limit


class InvalidConfig(ValueError):
    pass


@dataclass(frozen=True)
class ConfigDecision:
    status: ConfigStatus
    config: dict[str, Any] | None  # the config to apply, when status is "applied"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_zone(index: int, zone: object) -> None:
    if not isinstance(zone, dict):
        raise InvalidConfig(f"zones[{index}] is not an object")
    name = zone.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidConfig(f"zones[{index}].name must be a non-empty string")
    vertices = zone.get("vertices")
    if not isinstance(vertices, list) or not MIN_VERTICES <= len(vertices) <= MAX_VERTICES:
        raise InvalidConfig(
            f"zones[{index}].vertices must be a list of {MIN_VERTICES}..{MAX_VERTICES} points"
        )
    for point in vertices:
        if not (isinstance(point, list) and len(point) == 2 and all(map(_is_number, point))):
            raise InvalidConfig(f"zones[{index}].vertices holds a non-[x, y] entry: {point!r}")


def validate_config(config: object) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise InvalidConfig("config must be an object")
    zones = config.get("zones")
    if not isinstance(zones, list):
        raise InvalidConfig("config.zones must be a list")
    if len(zones) > MAX_ZONES:
        raise InvalidConfig(f"at most {MAX_ZONES} zones, got {len(zones)}")
    for index, zone in enumerate(zones):
        _check_zone(index, zone)
    return config


def _version_of(update: object) -> int:
    version = update.get("version") if isinstance(update, dict) else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidConfig("version must be an integer")
    return version


def _rejected(version: int, error: str) -> ConfigDecision:
    return ConfigDecision(
        ConfigStatus(version=version, status="rejected", error=error[:MAX_ERROR]), None
    )


def decide(raw: bytes, applied_version: int) -> ConfigDecision:
    """What a device with `applied_version` answers to one config/update payload."""
    try:
        update = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _rejected(0, "payload is not JSON")
    try:
        version = _version_of(update)
    except InvalidConfig as exc:
        return _rejected(0, str(exc))
    answer_version = max(version, 0)  # ConfigStatus.version is >= 0
    if version <= applied_version:
        return _rejected(answer_version, f"version {version} is not newer than {applied_version}")
    try:
        config = validate_config(update.get("config"))
    except InvalidConfig as exc:
        return _rejected(answer_version, str(exc))
    return ConfigDecision(ConfigStatus(version=version, status="applied"), config)
