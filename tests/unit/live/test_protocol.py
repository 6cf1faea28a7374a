"""Subprotocol/token parsing of the live-targets WebSocket (rs1.live.protocol)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1.errors import InvalidInput
from rs1.http.error_map import status_of
from rs1.live.protocol import PROTOCOL, Offer, is_websocket_upgrade, parse_offer

TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(alphabet=TCHARS, min_size=1, max_size=40)
jwts = st.lists(
    st.text(
        alphabet="-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1
    ),
    min_size=3,
    max_size=3,
).map(".".join)
others = tokens.filter(lambda p: p != PROTOCOL and not p.startswith("bearer."))


def test_no_header_is_no_offer() -> None:
    assert parse_offer("") == Offer()
    assert parse_offer(" , ,") == Offer()
    assert Offer().answer is None


def test_a_browser_offer_carries_the_token_and_is_answered_without_it() -> None:
    offer = parse_offer(f"{PROTOCOL}, bearer.aaa.bbb.ccc")
    assert offer.token == "aaa.bbb.ccc"
    assert offer.answer == PROTOCOL


@given(jwt=jwts, extra=st.lists(others, max_size=3), data=st.data())
def test_the_token_is_found_wherever_it_is_offered(jwt: str, extra: list[str], data) -> None:
    offered = data.draw(st.permutations([PROTOCOL, f"bearer.{jwt}", *extra]))
    spaces = data.draw(st.sampled_from([",", ", ", " ,  "]))
    offer = parse_offer(spaces.join(offered))
    assert offer.token == jwt
    assert offer.answer == PROTOCOL
    assert set(offer.protocols) == set(offered)


@given(extra=st.lists(others, min_size=1, max_size=3), jwt=jwts)
def test_an_offer_without_our_protocol_is_refused(extra: list[str], jwt: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_offer(", ".join([*extra, f"bearer.{jwt}"]))
    assert (status_of(err.value), err.value.code) == (400, "invalid_subprotocol")


def test_two_tokens_are_ambiguous() -> None:
    with pytest.raises(InvalidInput, match="at most one"):
        parse_offer(f"{PROTOCOL}, bearer.a.b.c, bearer.d.e.f")


def test_an_empty_bearer_entry_is_no_token() -> None:
    assert parse_offer(f"{PROTOCOL}, bearer.").token is None


def _is_bad(c: str) -> bool:
    return c not in TCHARS + "," and not c.isspace()


@given(bad=st.text(min_size=1, max_size=20).filter(lambda s: any(_is_bad(c) for c in s)))
def test_non_token_characters_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_offer(f"{PROTOCOL}, {bad}")
    assert status_of(err.value) == 400


@given(header=st.text(max_size=200))
def test_any_header_parses_or_is_a_400(header: str) -> None:
    try:
        offer = parse_offer(header)
    except InvalidInput as err:
        assert status_of(err) == 400
    else:
        assert offer.answer in (None, PROTOCOL)
        assert offer.token is None or f"bearer.{offer.token}" in offer.protocols


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {"upgrade": "websocket"}, True),
        ("GET", {"upgrade": "WebSocket"}, True),
        ("GET", {"upgrade": "h2c, websocket"}, True),
        ("GET", {}, False),
        ("GET", {"upgrade": "h2c"}, False),
        ("POST", {"upgrade": "websocket"}, False),
    ],
)
def test_upgrade_detection(method: str, headers: dict[str, str], expected: bool) -> None:
    assert is_websocket_upgrade(method, headers) is expected
