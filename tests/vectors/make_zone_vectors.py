"""Rebuilds tests/vectors/zones.json, the zone-config vectors shared by the Python model and the
editor's web/src/editor/geometry.ts, from the hand-chosen cases below. The expectations
(`valid`, `paths`, `issues`) come from the Python model (rs1.zones.model via
rs1.validation.validation_details, i.e. what the device API answers): never edit the JSON,
change a case here and rerun.

    PYTHONPATH=workers .venv/bin/python tests/vectors/make_zone_vectors.py          # rewrite
    PYTHONPATH=workers .venv/bin/python tests/vectors/make_zone_vectors.py --check  # stale? 1

A vector: {"name", "config", "schema_only", "valid", "paths", "issues"}. `issues` are the
API's details in its order ({"path", "message"}), `paths` their paths. `schema_only` marks
shape errors (wrong types, unknown or missing keys) that the console's JSON Schema catches
before geometry.ts runs; the TS test only checks that geometry.ts reports nothing else there.
tests/unit/zones/test_shared_vectors.py fails when this file is stale; web/test/geometry.test.ts
checks geometry.ts against it.

Not a vector: a repeated name containing "{zone}" ("{name}", "{vertex}"...). pydantic fills
its message template placeholder by placeholder, so the API answers "('1' repeats)" for a
repeated "{zone}"; geometry.ts quotes the name as it is.
"""

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rs1.validation import validation_details
from rs1.zones.model import ZoneConfig

OUT = Path(__file__).with_name("zones.json")

Vertices = list[list[Any]]
TRI: Vertices = [[0, 1000], [500, 2000], [-500, 2000]]
SQUARE: Vertices = [[-500, 2000], [500, 2000], [500, 3000], [-500, 3000]]


def regular(n: int, cx: int = 0, cy: int = 3000, r: int = 1000, turn: float = 0.0) -> Vertices:
    """A regular n-gon (counter-clockwise), rounded to integer millimetres."""
    return [
        [
            round(cx + r * math.cos(2 * math.pi * (k + turn) / n)),
            round(cy + r * math.sin(2 * math.pi * (k + turn) / n)),
        ]
        for k in range(n)
    ]


def star(points: int, cx: int = 0, cy: int = 3000, outer: int = 1500, inner: int = 600) -> Vertices:
    """A concave star: alternately outer and inner radius."""
    return [
        [
            round(cx + (outer if k % 2 == 0 else inner) * math.cos(math.pi * k / points)),
            round(cy + (outer if k % 2 == 0 else inner) * math.sin(math.pi * k / points)),
        ]
        for k in range(2 * points)
    ]


def zone(vertices: Any, name: Any = "z", **extra: Any) -> dict[str, Any]:
    return {"name": name, "vertices": vertices, **extra}


def cfg(*zones: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"zones": list(zones), **settings}


def named(names: list[str], vertices: Vertices = TRI) -> dict[str, Any]:
    return cfg(*(zone(vertices, name) for name in names))


PENTAGON = regular(5, r=1200, turn=0.25)
HEXAGON = regular(6, r=1000)

# (name, config, schema_only); one case a line or two, as a table.
# fmt: off
CASES: list[tuple[str, dict[str, Any], bool]] = [
    # --- valid polygons and settings
    ("no zones", cfg(), False),
    ("triangle, defaults", cfg(zone(TRI)), False),
    ("exclude zone, settings at their lower bounds",
     cfg(zone(TRI, type="exclude"), sensitivity=1, hold_time_s=0), False),
    ("settings at their upper bounds", cfg(zone(TRI), sensitivity=10, hold_time_s=3600), False),
    ("clockwise square", cfg(zone(SQUARE[::-1])), False),
    ("concave L shape",
     cfg(zone([[-1000, 2000], [1000, 2000], [1000, 2500], [0, 2500], [0, 4000], [-1000, 4000]])),
     False),
    ("12 vertices: a regular 12-gon", cfg(zone(regular(12))), False),
    ("12 vertices: a concave 6-point star", cfg(zone(star(6))), False),
    ("integral floats as coordinates (JSON 1000.0)",
     cfg(zone([[0.0, 1000.0], [500.0, 2000.0], [-500.0, 2000.0]])), False),
    # --- the field of view's edges
    ("apex (0, 0), on both 60° lines", cfg(zone([[0, 0], [1000, 2000], [-1000, 2000]])), False),
    ("the whole field of view",
     cfg(zone([[0, 0], [6000, 3465], [6000, 6000], [-6000, 6000], [-6000, 3465]])), False),
    ("far corners (±6000, 6000)", cfg(zone([[0, 3000], [6000, 6000], [-6000, 6000]])), False),
    ("(1732, 1000): just inside the +60° line",
     cfg(zone([[0, 1000], [1732, 1000], [0, 2000]])), False),
    ("(1733, 1000): just outside the +60° line",
     cfg(zone([[0, 1000], [1733, 1000], [0, 2000]])), False),
    ("(-1732, 1000): just inside the -60° line",
     cfg(zone([[0, 1000], [0, 2000], [-1732, 1000]])), False),
    ("(-1733, 1000): just outside the -60° line",
     cfg(zone([[0, 1000], [0, 2000], [-1733, 1000]])), False),
    ("(3691, 2131): the lattice point nearest the 60° line inside (0.00027 mm)",
     cfg(zone([[3691, 2131], [0, 3000], [0, 2000]])), False),
    ("(5042, 2911): the lattice point nearest the 60° line outside (0.0001 mm)",
     cfg(zone([[0, 2000], [5042, 2911], [0, 3000]])), False),
    ("(-5042, 2911): the same on the -60° line",
     cfg(zone([[0, 2000], [0, 3000], [-5042, 2911]])), False),
    ("(6000, 3465): the wedge's corner row, inside",
     cfg(zone([[0, 3000], [6000, 3465], [0, 4000]])), False),
    ("(6000, 3464): one row short of the wedge's corner, outside",
     cfg(zone([[0, 3000], [6000, 3464], [0, 4000]])), False),
    ("y = 6001: beyond range", cfg(zone([[0, 6001], [-500, 5000], [500, 5000]])), False),
    ("x = 6001 at y = 6000", cfg(zone([[0, 5000], [6001, 6000], [0, 6000]])), False),
    ("x = -6001 at y = 6000", cfg(zone([[0, 5000], [0, 6000], [-6001, 6000]])), False),
    ("y = -1: behind the sensor", cfg(zone([[0, -1], [500, 1000], [-500, 1000]])), False),
    ("(1, 0): only x = 0 is in view at y = 0", cfg(zone([[1, 0], [500, 1000], [-500, 1000]])),
     False),
    ("two vertices outside: the first is named",
     cfg(zone([[0, 1000], [3000, 1000], [0, 7000]])), False),
    ("outside and self-intersecting: the field of view is checked first",
     cfg(zone([[-500, 1000], [500, 2000], [500, 1000], [-500, 9000]])), False),
    # --- repeated vertices
    ("adjacent repeat", cfg(zone([[0, 1000], [500, 2000], [500, 2000], [-500, 2000]])), False),
    ("closing vertex repeated (first == last)", cfg(zone([*TRI, TRI[0]])), False),
    ("pinched: two lobes share a vertex",
     cfg(zone([[-1000, 2000], [0, 2500], [1000, 2000], [1000, 3000], [0, 2500],
               [-1000, 3000]])), False),
    ("repeat and crossing: the repeat is named",
     cfg(zone([[-500, 1000], [500, 2000], [500, 1000], [-500, 2000], [500, 1000]])), False),
    # --- self-intersection
    ("bowtie", cfg(zone([[-500, 1000], [500, 2000], [500, 1000], [-500, 2000]])), False),
    ("pentagram", cfg(zone([PENTAGON[k] for k in (0, 2, 4, 1, 3)])), False),
    ("hexagon with its last two vertices swapped",
     cfg(zone([*HEXAGON[:4], HEXAGON[5], HEXAGON[4]])), False),
    ("12-gon with its last two vertices swapped",
     cfg(zone([*regular(12)[:10], regular(12)[11], regular(12)[10]])), False),
    ("vertex touching a non-adjacent edge (T junction)",
     cfg(zone([[-1000, 2000], [1000, 2000], [1000, 3000], [0, 2000], [-1000, 3000]])), False),
    ("spike folding back onto an edge",
     cfg(zone([[0, 1000], [0, 3000], [0, 2000], [1000, 1500]])), False),
    ("four collinear points", cfg(zone([[0, 1000], [0, 2000], [0, 3000], [0, 4000]])), False),
    ("two edges overlapping along a line",
     cfg(zone([[-1000, 2000], [1000, 2000], [1000, 3000], [500, 2000], [-500, 2000],
               [-1000, 3000]])), False),
    # --- no area
    ("collinear triangle", cfg(zone([[0, 1000], [0, 2000], [0, 3000]])), False),
    ("collinear triangle along the +60° line", cfg(zone([[0, 0], [1732, 1000], [3464, 2000]])),
     False),
    ("collinear triangle, middle vertex last", cfg(zone([[-500, 2000], [500, 2000], [0, 2000]])),
     False),
    # --- vertex counts
    ("2 vertices", cfg(zone(TRI[:2])), False),
    ("13 vertices", cfg(zone(regular(13))), False),
    # --- zone names
    ("duplicate names", named(["a", "a"]), False),
    ("a repeat after another name", named(["a", "b", "a"]), False),
    ("two repeated names: the first is named", named(["a", "a", "b", "b"]), False),
    ("names differing in case or by a space are distinct", named(["Hall", "hall", "hall "]),
     False),
    ("duplicate names beside an invalid zone: only the zone's issue",
     cfg(zone(TRI, "a"), zone(TRI, "a"), zone([[0, 1000], [0, 2000], [0, 3000]], "b")), False),
    ("empty name", named([""]), False),
    ("32-character name", named(["n" * 32]), False),
    ("33-character name", named(["n" * 33]), False),
    ("32 emoji (code points, not UTF-16 units)", named(["\U0001f6cb" * 32]), False),
    ("33 emoji", named(["\U0001f6cb" * 33]), False),
    ("non-Latin name", named(["Küche / 客厅 🛋"]), False),
    ("bidi override U+202E in a name", named(["Kitchen\u202eevil"]), False),
    ("newline in a name", named(["Kit\nchen"]), False),
    ("zero-width joiner U+200D in a name", named(["a\u200db"]), False),
    ("line separator U+2028 in a name", named(["a\u2028b"]), False),
    ("lone surrogate in a name", named(["a\ud800b"]), False),
    ("name too long and vertices outside: both are named",
     cfg(zone([[0, 1000], [9000, 2000], [0, 2000]], "n" * 33)), False),
    # --- zone count
    ("16 zones", named([f"z{i}" for i in range(16)]), False),
    ("17 zones", named([f"z{i}" for i in range(17)]), False),
    ("17 zones, one invalid: only the count",
     cfg(*(zone(TRI if i != 3 else TRI[:1] * 3, f"z{i}") for i in range(17))), False),
    # --- settings and type
    ("sensitivity 0", cfg(zone(TRI), sensitivity=0), False),
    ("sensitivity 11", cfg(zone(TRI), sensitivity=11), False),
    ("hold time -1", cfg(zone(TRI), hold_time_s=-1), False),
    ("hold time 3601", cfg(zone(TRI), hold_time_s=3601), False),
    ("integral float sensitivity (JSON 5.0)", cfg(zone(TRI), sensitivity=5.0), False),
    ("type 'ignore'", cfg(zone(TRI, type="ignore")), False),
    ("per-zone settings at their bounds",
     cfg(zone(TRI, "a", sensitivity=1, hold_time_s=3600),
         zone(TRI, "b", sensitivity=10, hold_time_s=0)), False),
    ("per-zone settings null (the config's)",
     cfg(zone(TRI, sensitivity=None, hold_time_s=None)), False),
    ("per-zone sensitivity 0 and hold time 3601",
     cfg(zone(TRI, sensitivity=0, hold_time_s=3601)), False),
    ("per-zone sensitivity 11 and hold time -1, beside a bad type and vertex",
     cfg(zone([[0, 1000], [0, 1000], [500, 2000]], type="x", sensitivity=11, hold_time_s=-1)),
     False),
    ("per-zone and config settings both out of range",
     cfg(zone(TRI, sensitivity=11), sensitivity=11), False),
    # --- several issues: every zone's first, then the settings, in order
    ("every zone's first issue, then the settings",
     cfg(zone([[0, 1000], [0, 2000], [0, 3000]], "line"),
         zone(TRI, "fine"),
         zone([[-500, 1000], [500, 2000], [500, 1000], [-500, 2000]], "bowtie"),
         zone([[0, 1000], [7000, 2000], [500, 2000], [500, 2000]], "far"),
         zone(TRI[:2], "short"),
         sensitivity=0, hold_time_s=4000), False),
    # --- shape errors: the JSON Schema's (the model is lax where the schema is strict)
    ("fractional coordinate", cfg(zone([[0.5, 1000], [500, 2000], [-500, 2000]])), True),
    ("coordinate as a string", cfg(zone([["0", 1000], [500, 2000], [-500, 2000]])), True),
    ("boolean coordinate", cfg(zone([[True, 1000], [500, 2000], [-500, 2000]])), True),
    ("vertex of three numbers", cfg(zone([[0, 1000, 5], [500, 2000], [-500, 2000]])), True),
    ("unknown zone key", cfg(zone(TRI, colour="red")), True),
    ("fractional per-zone hold time beside duplicate names",
     cfg(zone(TRI, "a"), zone(TRI, "a", hold_time_s=1.5)), True),
    ("unknown key beside duplicate names", cfg(zone(TRI, "a"), zone(TRI, "a", colour="red")),
     True),
    ("zone without vertices", cfg({"name": "z"}), True),
    ("config without zones", {"sensitivity": 5}, True),
    ("fractional sensitivity", cfg(zone(TRI), sensitivity=5.5), True),
    ("name as a number", cfg(zone(TRI, 7)), True),
]
# fmt: on


def details(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The device API's details for this config ([] when the model accepts it)."""
    try:
        ZoneConfig.model_validate(config)
    except ValidationError as exc:
        return validation_details(exc)
    return []


def build() -> list[dict[str, Any]]:
    names = [name for name, _, _ in CASES]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"case names repeat: {duplicates}")
    vectors = []
    for name, config, schema_only in CASES:
        issues = details(config)
        vectors.append({
            "name": name,
            "config": config,
            "schema_only": schema_only,
            "valid": not issues,
            "paths": [i["path"] for i in issues],
            "issues": issues,
        })  # fmt: skip
    return vectors


def render(vectors: list[dict[str, Any]]) -> str:
    """One vector a line (ASCII, so lone surrogates survive), stable for diffs."""
    lines = [json.dumps(v, ensure_ascii=True) for v in vectors]
    head = json.dumps({"generated_by": "tests/vectors/make_zone_vectors.py (do not edit)"})
    return head[:-1] + ', "vectors": [\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if zones.json is stale")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        stale = not OUT.exists() or OUT.read_text(encoding="utf-8") != text
        print(f"{OUT}: {'stale' if stale else 'up to date'}")
        return 1 if stale else 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(CASES)} vectors to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
