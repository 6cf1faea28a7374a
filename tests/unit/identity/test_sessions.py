import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1.identity.sessions import close_session, is_live, open_session, start_session
from rs1.identity.tokens import MAX_TTL_S, Claims, mint_token, verify_token
from rs1.storage.memory import MemoryKv

SECRET = "a-test-jwt-secret-of-32-bytes-ok!"
NOW = 1_795_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def run(coro):
    return asyncio.run(coro)


def test_a_session_lives_until_logout() -> None:
    kv = MemoryKv(Clock())
    token, claims = run(start_session(kv, SECRET, "ann", "user", NOW, 600))
    assert verify_token(SECRET, token, NOW) == claims
    assert run(is_live(kv, claims))
    run(close_session(kv, claims.jti))
    assert not run(is_live(kv, claims))


def test_the_session_expires_with_the_token() -> None:
    clock = Clock()
    kv = MemoryKv(clock)
    _, claims = run(start_session(kv, SECRET, "ann", "user", NOW, 3600))
    clock.now = NOW + 3599
    assert run(is_live(kv, claims))
    clock.now = NOW + 3600
    assert not run(is_live(kv, claims))


@given(st.sampled_from(["sub", "role"]), st.text(min_size=1, max_size=8))
def test_a_session_is_bound_to_its_subject_and_role(field: str, other: str) -> None:
    kv = MemoryKv(Clock())
    claims = Claims("ann", "user", int(NOW) + 60, "ab" * 16)
    run(open_session(kv, claims, NOW))
    forged = Claims(**{**claims.__dict__, field: claims.__dict__[field] + other})
    assert not run(is_live(kv, forged))


def test_tokens_live_at_most_a_day() -> None:
    with pytest.raises(ValueError):
        mint_token(SECRET, "ann", "user", NOW, MAX_TTL_S + 1)
    with pytest.raises(ValueError):
        mint_token(SECRET, "ann", "user", NOW, 0)
