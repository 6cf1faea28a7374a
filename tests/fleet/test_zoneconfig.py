"""config/update validation and the ConfigStatus a device answers with."""

import json

import pytest

from rs1tools.fleet.zoneconfig import decide

SQUARE = [[0, 0], [1000, 0], [1000, 1000], [0, 1000]]


def update(version: object, config: object) -> bytes:
    return json.dumps({"version": version, "config": config}).encode()


def zones(*specs: tuple[str, list]) -> dict:
    return {"zones": [{"name": n, "vertices": v} for n, v in specs]}


def test_newer_valid_config_is_applied() -> None:
    config = zones(("desk", SQUARE), ("bed", SQUARE[:3]))
    decision = decide(update(4, config), applied_version=3)
    assert decision.status.status == "applied" and decision.status.version == 4
    assert decision.status.error is None and decision.config == config


def test_an_empty_zone_list_is_a_valid_config() -> None:
    assert decide(update(1, {"zones": []}), 0).status.status == "applied"


@pytest.mark.parametrize(
    ("raw", "applied", "version", "needle"),
    [
        (update(3, zones(("a", SQUARE))), 3, 3, "not newer"),
        (update(2, zones(("a", SQUARE))), 3, 2, "not newer"),
        (update(-1, zones(("a", SQUARE))), 0, 0, "not newer"),
        (update("4", zones(("a", SQUARE))), 0, 0, "integer"),
        (update(True, zones(("a", SQUARE))), 0, 0, "integer"),
        (b"{not json", 0, 0, "JSON"),
        (b"[1, 2]", 0, 0, "integer"),
        (update(1, ["zones"]), 0, 1, "object"),
        (update(1, {"zones": "desk"}), 0, 1, "list"),
        (update(1, {}), 0, 1, "list"),
        (update(1, zones(*[(f"z{i}", SQUARE) for i in range(17)])), 0, 1, "at most 16"),
        (update(1, zones(("a", SQUARE[:2]))), 0, 1, "3..12"),
        (update(1, zones(("a", SQUARE * 4))), 0, 1, "3..12"),
        (update(1, zones(("a", [[0, 0], [1, 1], [2]]))), 0, 1, "[x, y]"),
        (update(1, zones(("a", [[0, 0], [1, 1], [2, "3"]]))), 0, 1, "[x, y]"),
        (update(1, zones(("a", [[0, 0], [1, 1], [True, 3]]))), 0, 1, "[x, y]"),
        (update(1, zones(("", SQUARE))), 0, 1, "name"),
        (update(1, {"zones": [{"vertices": SQUARE}]}), 0, 1, "name"),
        (update(1, {"zones": [7]}), 0, 1, "not an object"),
    ],
)
def test_rejections(raw: bytes, applied: int, version: int, needle: str) -> None:
    decision = decide(raw, applied)
    assert decision.config is None
    assert decision.status.status == "rejected" and decision.status.version == version
    assert needle in (decision.status.error or "")


def test_sixteen_zones_of_twelve_vertices_fit() -> None:
    twelve = [[i, i * i] for i in range(12)]
    decision = decide(update(1, zones(*[(f"z{i}", twelve) for i in range(16)])), 0)
    assert decision.status.status == "applied"
