"""Watchers are re-checked while frames flow: logout, revocation, expiry and unsharing close
their sockets (4401 / 4403); a healthy watcher is checked at most once per interval."""

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import NOW, enroll_one
from rs1.identity.sessions import close_session, start_session
from rs1.live.watchers import ACCESS_REVOKED, SESSION_ENDED, Watcher, sweep

RECHECK_S = 60.0


class Socket:
    def __init__(self, watcher: Watcher | None) -> None:
        self.attachment = None if watcher is None else watcher.encode()
        self.closed: tuple[int, str] | None = None

    def watcher(self) -> Watcher | None:
        return Watcher.decode(self.attachment)

    def remember(self, watcher: Watcher) -> None:
        self.attachment = watcher.encode()

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


@pytest.fixture
def device(services) -> str:
    device_id = enroll_one(services.db, "AA:BB:CC:00:00:09")
    asyncio.run(
        services.db.run(
            "INSERT INTO device_ownership (device_id, user_id, role) VALUES (?, 'ann', 'owner')",
            device_id,
        )
    )
    return device_id


def watcher_for(services, device_id: str, sub: str = "ann", ttl_s: int = 3600) -> Watcher:
    secret = services.settings.jwt_secret
    _, claims = asyncio.run(start_session(services.kv["SESSIONS"], secret, sub, "user", NOW, ttl_s))
    return Watcher(device_id, claims.sub, claims.role, claims.jti, claims.exp, checked_at=NOW)


def run_sweep(services, sockets, now: float) -> int:
    return asyncio.run(sweep(services, sockets, now, RECHECK_S))


def test_a_healthy_watcher_stays_and_is_checked_once_per_interval(services, device) -> None:
    socket = Socket(watcher_for(services, device))
    assert run_sweep(services, [socket], NOW + RECHECK_S) == 0
    assert socket.closed is None and socket.watcher().checked_at == NOW + RECHECK_S
    # Within the interval nothing is read: even a broken session store is not touched.
    services.kv["SESSIONS"] = None  # type: ignore[assignment]
    assert run_sweep(services, [socket], NOW + RECHECK_S + 1) == 0


def test_logout_expiry_unknown_and_unsharing_close_the_socket(services, device) -> None:
    logged_out = Socket(watcher_for(services, device))
    asyncio.run(close_session(services.kv["SESSIONS"], logged_out.watcher().jti))
    expired = Socket(watcher_for(services, device, ttl_s=60))
    stranger = Socket(watcher_for(services, device, sub="bob"))  # never shared with bob
    unknown = Socket(None)
    sockets = [logged_out, expired, stranger, unknown]
    assert run_sweep(services, sockets, NOW + 120) == 4
    assert logged_out.closed == (SESSION_ENDED, "session ended")
    assert expired.closed == (SESSION_ENDED, "token expired")
    assert stranger.closed == (ACCESS_REVOKED, "no access to this device")
    assert unknown.closed is not None and unknown.closed[0] == SESSION_ENDED


# Each example makes its own session and puts the ownership back, so sharing the fixture's
# database between examples is sound.
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.floats(min_value=0, max_value=3 * RECHECK_S))
def test_a_revoked_watcher_goes_at_the_first_check_due(services, device, after: float) -> None:
    socket = Socket(watcher_for(services, device))
    asyncio.run(
        services.db.run("DELETE FROM device_ownership WHERE device_id = ?", device)
    )  # unshared (here: the ownership itself withdrawn)
    run_sweep(services, [socket], NOW + after)
    assert (socket.closed is not None) == (after >= RECHECK_S)
    asyncio.run(
        services.db.run(
            "INSERT INTO device_ownership (device_id, user_id, role) VALUES (?, 'ann', 'owner')",
            device,
        )
    )
