"""Semver precedence: examples from semver.org and order properties on generated versions."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rs1fw.versions import Version, compare_versions, is_version, parse_version

SPEC_ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "1.10.0",
    "2.0.0",
]

numbers = st.integers(min_value=0, max_value=30)
identifiers = st.one_of(
    numbers.map(str),
    st.from_regex(r"\A[0-9]{0,2}[A-Za-z-][0-9A-Za-z-]{0,3}\Z"),
)
texts = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{'.'.join(pre)}" if pre else ""),
    numbers,
    numbers,
    numbers,
    st.lists(identifiers, max_size=3),
)
versions = texts.map(parse_version)


def test_spec_precedence_examples():
    parsed = [parse_version(v) for v in SPEC_ORDER]
    assert parsed == sorted(parsed)
    assert all(a < b for a, b in itertools.pairwise(parsed))


@pytest.mark.parametrize(
    "text",
    [
        "1.2",
        "1.2.3.4",
        "01.2.3",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3-a..b",
        "1.2.3+build",
        "v1.2.3",
        "1.2.3\n",
        "1.2.3-é",
        "1.0.0-" + "a" * 30,
    ],
)
def test_invalid_versions_are_rejected(text):
    assert not is_version(text)
    with pytest.raises(ValueError, match="semantic version"):
        parse_version(text)


@given(texts)
def test_parse_round_trips(text):
    assert str(parse_version(text)) == text


@given(versions, versions)
def test_total_order_and_antisymmetry(a, b):
    assert [a < b, a == b, a > b].count(True) == 1
    if a <= b and b <= a:
        assert a == b and hash(a) == hash(b)


@given(versions, versions, versions)
def test_transitivity(a, b, c):
    x, y, z = sorted([a, b, c])
    assert x <= y <= z and x <= z


@given(versions)
def test_release_sorts_after_its_prereleases(v):
    release = Version(v.major, v.minor, v.patch)
    assert v <= release and (v == release) == (not v.prerelease)


@given(texts, texts)
def test_compare_versions_agrees_with_operators(a, b):
    va, vb = parse_version(a), parse_version(b)
    assert compare_versions(a, b) == (va > vb) - (va < vb) == -compare_versions(b, a)
