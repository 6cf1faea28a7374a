"""Hourly rollups of one device's raw telemetry: a pure, order-independent function."""

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

NUMERIC_FIELDS = {
    "health": ("rssi", "free_heap", "uptime_s", "temperature_c"),
}


@dataclass(frozen=True)
class Rollup:
    device_id: str
    hour: int
    message_count: int
    max_target_count: int | None
    occupancy: dict[str, float]
    metrics: dict[str, dict[str, float]]

    def row(self) -> tuple[Any, ...]:
        return (
            self.device_id,
            self.hour,
            self.message_count,
            self.max_target_count,
            json.dumps(self.occupancy, sort_keys=True, separators=(",", ":")),
            json.dumps(self.metrics, sort_keys=True, separators=(",", ":")),
        )


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)  # a fixed summation order keeps the float average identical
    return {
        "count": len(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "avg": round(sum(ordered) / len(ordered), 6),
    }


def rollup(device_id: str, hour: int, rows: list[tuple[str, str]]) -> Rollup:
    """rows: (kind, canonical payload JSON) of one device's messages in one hour."""
    numeric: dict[str, list[float]] = defaultdict(list)
    zone_samples: dict[str, list[bool]] = defaultdict(list)
    target_counts: list[int] = []
    for kind, payload in rows:
        data = json.loads(payload)
        if kind == "targets":
            target_counts.append(len(data.get("targets", [])))
        elif kind == "presence":
            for zone in data.get("zones", []):
                zone_samples[str(zone["zone_id"])].append(bool(zone["occupied"]))
        for field in NUMERIC_FIELDS.get(kind, ()):
            value = data.get(field)
            if isinstance(value, int | float) and not isinstance(value, bool):
                numeric[f"{kind}.{field}"].append(float(value))
    if target_counts:
        numeric["targets.count"] = [float(c) for c in target_counts]
    occupancy = {z: round(sum(s) / len(s), 6) for z, s in zone_samples.items()}
    return Rollup(
        device_id=device_id,
        hour=hour,
        message_count=len(rows),
        max_target_count=max(target_counts) if target_counts else None,
        occupancy=occupancy,
        metrics={name: _stats(values) for name, values in numeric.items()},
    )
