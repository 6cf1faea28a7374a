import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rs1.identity.claim import claim_code, claim_matches
from rs1.zones.model import ZoneConfig, is_simple_polygon


def regular(n: int, cx: int, cy: int, r: int) -> list[tuple[int, int]]:
    return [
        (
            round(cx + r * math.cos(2 * math.pi * k / n)),
            round(cy + r * math.sin(2 * math.pi * k / n)),
        )
        for k in range(n)
    ]


@given(st.integers(3, 12), st.integers(-1000, 1000), st.integers(2500, 3500), st.integers(200, 900))
def test_regular_polygons_in_view_are_valid(n: int, cx: int, cy: int, r: int) -> None:
    config = ZoneConfig.model_validate(
        {"zones": [{"name": "z", "vertices": regular(n, cx, cy, r)}]}
    )
    assert len(config.zones[0].vertices) == n


@given(st.integers(3, 12), st.data())
def test_reversing_or_rotating_a_simple_polygon_keeps_it_simple(n: int, data) -> None:
    points = regular(n, 0, 3000, 800)
    k = data.draw(st.integers(0, n - 1))
    assert is_simple_polygon(points[k:] + points[:k])
    assert is_simple_polygon(list(reversed(points)))


def test_bowtie_and_degenerate_polygons_are_rejected() -> None:
    bowtie = [(-500, 1000), (500, 2000), (500, 1000), (-500, 2000)]
    line = [(0, 1000), (0, 2000), (0, 3000)]
    for vertices in (bowtie, line):
        with pytest.raises(ValidationError) as err:
            ZoneConfig.model_validate({"zones": [{"name": "z", "vertices": vertices}]})
        assert err.value.errors()[0]["loc"] == ("zones", 0, "vertices")


@pytest.mark.parametrize("point", [(0, -1), (0, 6001), (3000, 1000), (-7000, 6000)])
def test_vertices_outside_the_field_of_view_are_rejected(point) -> None:
    vertices = [point, (0, 3000), (500, 3500)]
    with pytest.raises(ValidationError):
        ZoneConfig.model_validate({"zones": [{"name": "z", "vertices": vertices}]})


def test_limits_on_zone_count_names_and_settings() -> None:
    zone = {"name": "a", "vertices": regular(4, 0, 3000, 500)}
    with pytest.raises(ValidationError):
        ZoneConfig.model_validate({"zones": [zone] * 2})  # duplicate names
    with pytest.raises(ValidationError):
        ZoneConfig.model_validate({"zones": [{**zone, "name": f"z{i}"} for i in range(17)]})
    with pytest.raises(ValidationError):
        ZoneConfig.model_validate({"zones": [zone], "sensitivity": 11})


@given(st.text("0123456789abcdef", min_size=64, max_size=64))
def test_claim_codes(secret: str) -> None:
    code = claim_code(secret)
    assert len(code) == 10 and claim_matches(secret, code.lower())
    assert claim_matches(secret, f"{code[:5]}-{code[5:]}")
    assert not claim_matches(secret[::-1], code) or secret == secret[::-1]
