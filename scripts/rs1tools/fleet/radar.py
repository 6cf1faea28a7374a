"""A simulated LD2450-style radar: up to three moving targets and polygon zones.

Targets wander around the room and bounce off its walls; presence is derived from the same
targets (a zone is occupied when a target stands inside its polygon), so the targets and
presence telemetry of one tick always agree.
"""

import math
import random
from dataclasses import dataclass

from rs1contract.payloads import Target, ZonePresence

MAX_TARGETS = 3
ROOM_X = (-3_000.0, 3_000.0)  # mm, left/right of the sensor
ROOM_Y = (300.0, 6_000.0)  # mm, away from the sensor
MAX_SPEED = 1_500.0  # mm/s, a brisk walk
ARRIVE_P = 0.25  # per tick, when a slot is free
LEAVE_P = 0.08  # per tick, per target

Point = tuple[float, float]


@dataclass(frozen=True)
class Zone:
    zone_id: str
    polygon: tuple[Point, ...]


@dataclass
class Track:
    slot: int
    x: float
    y: float
    vx: float
    vy: float


def point_in_polygon(x: float, y: float, polygon: tuple[Point, ...]) -> bool:
    """Even-odd ray casting; points on an edge may fall either way, which is fine here."""
    inside = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def default_zones(rng: random.Random) -> list[Zone]:
    """2-3 side-by-side rectangular zones across the room."""
    count = rng.choice((2, 3))
    width = (ROOM_X[1] - ROOM_X[0]) / count
    zones = []
    for i in range(count):
        left = ROOM_X[0] + i * width
        near, far = rng.uniform(300, 1_500), rng.uniform(3_500, 6_000)
        box = ((left, near), (left + width, near), (left + width, far), (left, far))
        zones.append(Zone(f"zone-{i + 1}", box))
    return zones


def zones_from_config(config: dict) -> list[Zone]:
    """Zones of a validated config/update; ids are the names cut to the payload's limit."""
    return [
        Zone(str(z["name"])[:32], tuple((float(x), float(y)) for x, y in z["vertices"]))
        for z in config["zones"]
    ]


class Radar:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.zones = default_zones(rng)
        self.tracks: dict[int, Track] = {}

    def step(self, dt: float) -> list[Target]:
        """Advance `dt` seconds: targets leave, arrive and move; returns this frame."""
        for slot in list(self.tracks):
            if self.rng.random() < LEAVE_P:
                del self.tracks[slot]
        free = [s for s in range(MAX_TARGETS) if s not in self.tracks]
        if free and self.rng.random() < ARRIVE_P:
            self.tracks[free[0]] = self._arrive(free[0])
        for track in self.tracks.values():
            self._move(track, dt)
        return [self._target(t) for t in sorted(self.tracks.values(), key=lambda t: t.slot)]

    def presence(self, targets: list[Target]) -> list[ZonePresence]:
        result = []
        for zone in self.zones:
            inside = sum(point_in_polygon(t.x_mm, t.y_mm, zone.polygon) for t in targets)
            result.append(
                ZonePresence(zone_id=zone.zone_id, occupied=inside > 0, target_count=inside)
            )
        return result

    def _arrive(self, slot: int) -> Track:
        heading = self.rng.uniform(0, 2 * math.pi)
        speed = self.rng.uniform(0, MAX_SPEED)
        return Track(
            slot,
            self.rng.uniform(*ROOM_X),
            self.rng.uniform(*ROOM_Y),
            speed * math.cos(heading),
            speed * math.sin(heading),
        )

    def _move(self, track: Track, dt: float) -> None:
        track.vx, track.x = _bounce(track.vx, track.x + track.vx * dt, ROOM_X)
        track.vy, track.y = _bounce(track.vy, track.y + track.vy * dt, ROOM_Y)

    @staticmethod
    def _target(track: Track) -> Target:
        x, y = round(track.x), round(track.y)
        distance = math.hypot(x, y)  # from the reported x/y, so the frame is self-consistent
        radial = (x * track.vx + y * track.vy) / distance  # + = moving away from the sensor
        return Target(
            id=track.slot, x_mm=x, y_mm=y, speed_mm_s=round(radial), distance_mm=round(distance)
        )


def _bounce(velocity: float, position: float, bounds: tuple[float, float]) -> tuple[float, float]:
    low, high = bounds
    if position < low:
        return -velocity, min(high, 2 * low - position)
    if position > high:
        return -velocity, max(low, 2 * high - position)
    return velocity, position
