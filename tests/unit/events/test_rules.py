"""Endpoint rules, and the signature and backoff edge cases a receiver or a retry meets."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1.errors import Unprocessable
from rs1.events import backoff, signing
from rs1.events.endpoints import check_types, check_url


@given(st.text(max_size=80), st.binary(max_size=50), st.integers(0, 2**31))
def test_verify_answers_false_for_any_header_and_never_raises(header, body, now) -> None:
    assert signing.verify("whsec_x", header, body, now) in (True, False)
    assert not signing.verify("whsec_x", f"t={now},v1=é{header}", body, now)


def test_an_endpoint_secret_is_prefixed_unpadded_and_per_endpoint() -> None:
    a, b = signing.endpoint_secret("m", "ep_a"), signing.endpoint_secret("m", "ep_b")
    assert a.startswith("whsec_") and "=" not in a and a != b
    with pytest.raises(ValueError):
        signing.endpoint_secret("", "ep_a")


@given(st.integers(1, 80), st.integers(1, 80), st.floats(0.01, 600))
def test_the_backoff_ceiling_never_falls_and_stops_at_an_hour(a, b, base) -> None:
    top = random.Random()
    top.uniform = lambda low, high: high  # type: ignore[method-assign]  # the ceiling
    first, second = sorted((a, b))
    low, high = (backoff.next_delay_s(n, base, top) for n in (first, second))
    assert low <= high <= backoff.CAP_S


@pytest.mark.parametrize(
    ("url", "production"),
    [
        ("ftp://example.com/x", False),
        ("http://example.com/x", False),  # http only to localhost
        ("http://127.0.0.1:8080/x", True),  # and never in production
        ("https://user:pw@example.com/x", False),
        ("https://[::1", False),
        ("https://10.1.2.3/x", True),
        ("https://[::1]/x", True),
        ("https://localhost/x", True),
        ("https://2130706433/x", True),  # 127.0.0.1 to fetch
        ("https://0x7f.1/x", True),
    ],
)
def test_refused_urls(url: str, production: bool) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_url(url, production)
    assert refused.value.code == "invalid_endpoint"


@pytest.mark.parametrize(
    ("url", "production"),
    [
        ("https://hooks.example.com/rs1", True),
        ("https://1.1.1.1/x", True),
        ("http://127.0.0.1:8080/x", False),
        ("http://localhost/x", False),
        ("https://10.1.2.3/x", False),
    ],
)
def test_accepted_urls(url: str, production: bool) -> None:
    assert check_url(url, production) == url


def test_event_types_are_known_deduplicated_and_at_least_one() -> None:
    assert check_types(["device.online", "device.enrolled", "device.online"]) == [
        "device.enrolled",
        "device.online",
    ]
    for bad in ([], ["device.exploded"]):
        with pytest.raises(Unprocessable):
            check_types(bad)
