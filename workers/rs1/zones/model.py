"""The RS-1 zone configuration (what the zone editor edits and the device applies).

Limits (the LD2450 radar's field of view): y (distance ahead) 0..6000 mm, x (sideways)
-6000..6000 mm and within ±60° of boresight (|x| <= y·tan 60°). A zone is a simple polygon of
3–12 vertices (no self-intersection), `include` or `exclude`, with its own sensitivity and hold
time or the config's; at most 16 zones, unique names.
"""

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from rs1.text import PlainText

MAX_RANGE_MM = 6000
TAN_60 = math.tan(math.radians(60))

Point = tuple[int, int]


def _cross(o: Point, a: Point, b: Point) -> int:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Proper or touching intersection of two closed segments."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and d1 and d2 and ((d3 > 0) != (d4 > 0)) and d3 and d4:
        return True

    def on(a: Point, b: Point, c: Point) -> bool:
        return (
            _cross(a, b, c) == 0
            and min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
            and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])
        )

    return on(q1, q2, p1) or on(q1, q2, p2) or on(p1, p2, q1) or on(p1, p2, q2)


def first_crossing(points: list[Point]) -> tuple[int, int] | None:
    """The first two non-adjacent edges (i < j; edge i runs from vertex i) that meet."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # adjacent edges share a vertex by construction
            if _segments_cross(*edges[i], *edges[j]):
                return i, j
    return None


def area2(points: list[Point]) -> int:
    """Twice the signed area (shoelace)."""
    n = len(points)
    return sum(points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]
               for i in range(n))  # fmt: skip


def is_simple_polygon(points: list[Point]) -> bool:
    """No two non-adjacent edges meet, and the polygon has a non-zero area."""
    return first_crossing(points) is None and area2(points) != 0


def in_field_of_view(x: int, y: int) -> bool:
    return 0 <= y <= MAX_RANGE_MM and abs(x) <= MAX_RANGE_MM and abs(x) <= y * TAN_60 + 1e-9


class Zone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PlainText = Field(min_length=1, max_length=32)
    type: Literal["include", "exclude"] = "include"
    vertices: Annotated[list[tuple[int, int]], Field(min_length=3, max_length=12)]
    # Per zone, optional: absent means the config's own (ZoneConfig.sensitivity, hold_time_s).
    sensitivity: int | None = Field(default=None, ge=1, le=10)
    hold_time_s: int | None = Field(default=None, ge=0, le=3600)

    @field_validator("vertices")
    @classmethod
    def _geometry(cls, vertices: list[Point]) -> list[Point]:
        # Errors name the vertex (`ctx.vertex`), so the zone editor can point at it: the
        # details' path becomes zones.<z>.vertices.<vertex> (rs1.validation). The editor's
        # geometry.ts applies the same rules in the same order (tests/vectors/zones.json).
        for i, (x, y) in enumerate(vertices):
            if not in_field_of_view(x, y):
                raise _at(i, f"vertex {i} ({x}, {y}) is outside the radar's field of view")
        for j, point in enumerate(vertices):
            if point in vertices[:j]:
                raise _at(j, f"vertex {j} repeats vertex {vertices.index(point)}")
        crossing = first_crossing(vertices)
        if crossing is not None:
            i, j = crossing
            raise _at(j, f"the polygon intersects itself (edges {i} and {j} cross)")
        if area2(vertices) == 0:
            raise PydanticCustomError("zone_geometry", "the polygon has no area")
        return vertices


def _at(vertex: int, message: str) -> PydanticCustomError:
    return PydanticCustomError("zone_geometry", "{message}", {"vertex": vertex, "message": message})


class ZoneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zones: list[Zone] = Field(max_length=16)
    sensitivity: int = Field(default=5, ge=1, le=10)
    hold_time_s: int = Field(default=30, ge=0, le=3600)

    @field_validator("zones")
    @classmethod
    def _unique_names(cls, zones: list[Zone]) -> list[Zone]:
        names = [z.name for z in zones]
        for j, name in enumerate(names):
            if name in names[:j]:
                raise PydanticCustomError(
                    "zone_name", "zone names must be unique ('{name}' repeats)",
                    {"zone": j, "name": name},  # formatted in order: a name holding {zone} stays
                )  # fmt: skip
        return zones
