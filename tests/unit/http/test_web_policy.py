import asyncio
import itertools
import json
from dataclasses import replace
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import Clock
from rs1.http.app import App
from rs1.http.rate_limit import WINDOW_S, RateLimit, WindowCounters
from rs1.http.router import Router
from rs1.http.web import decorate, preflight
from rs1.messages import ApiRequest, json_response
from rs1.settings import WEB_ORIGIN, Settings, SettingsError
from rs1.storage.database import StorageError
from rs1.storage.memory import MemoryKv


def app() -> App:
    router = Router()

    async def ok(request, svc):
        return json_response({"ok": True})

    router.add("GET", "/api/devices", ok)
    router.add("GET", "/admin/fleet", ok)
    return App("t", router, before=[preflight, RateLimit()], after=[decorate])


def call(
    services, path: str = "/api/devices", method: str = "GET", ip: str = "198.51.100.7", **headers
):
    request = ApiRequest(method, path, headers=headers, client_ip=ip, request_id="r")
    if not hasattr(services, "isolate"):  # one app per test, as an isolate keeps its app
        services.isolate = app()
    return asyncio.run(services.isolate.handle(request, services))


@pytest.fixture
def limited(services):
    services.settings = replace(services.settings, api_rate_limit=5)
    return services


def test_requests_over_the_limit_get_429_with_retry_after(limited) -> None:
    statuses = [call(limited).status for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    response = call(limited)
    assert response.headers["x-ratelimit-limit"] == "5"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert json.loads(response.body)["error"] == "rate_limited"
    events = asyncio.run(
        limited.db.all("SELECT * FROM security_log WHERE event_type = 'rate_limit_exceeded'")
    )
    assert len(events) == 1 and events[0]["ip"] == "198.51.100.7"


def test_limits_are_per_ip_per_minute_and_only_on_api(limited) -> None:
    for _ in range(5):
        call(limited)
    assert call(limited).status == 429
    assert call(limited, ip="203.0.113.1").status == 200
    assert call(limited, path="/admin/fleet").status == 200
    limited.clock.now += 60
    assert call(limited).status == 200


def test_security_headers_and_cors(services) -> None:
    plain = call(services)
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in plain.headers
    browser = call(services, origin="https://app.optic.works")
    assert browser.headers["access-control-allow-origin"] == "https://app.optic.works"
    pre = call(services, method="OPTIONS", origin="https://app.optic.works")
    assert pre.status == 204 and "PUT" in pre.headers["access-control-allow-methods"]
    assert "if-match" in pre.headers["access-control-allow-headers"]
    evil = call(services, method="OPTIONS", origin="https://evil.example")
    assert "access-control-allow-origin" not in evil.headers


class CountingKv(MemoryKv):
    """MemoryKv that records when each key is written (Workers KV: at most 1/s per key)."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.writes: dict[str, list[float]] = {}

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        self.writes.setdefault(key, []).append(self.clock())
        await super().put(key, value, ttl)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=0.9), min_size=1, max_size=120))
def test_one_isolate_counts_exactly_and_writes_a_key_at_most_once_a_second(gaps) -> None:
    clock = Clock(1_800_000_000.0)  # the start of a window
    kv = CountingKv(clock)
    counters = WindowCounters()
    for n, gap in enumerate(gaps, start=1):
        clock.now += gap
        if int(clock.now // WINDOW_S) != int(1_800_000_000.0 // WINDOW_S):
            break
        assert asyncio.run(counters.hit(kv, "api-rate:ip:w", clock.now)) == n
    times = kv.writes["api-rate:ip:w"]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


def test_two_isolates_share_the_count_through_kv(services) -> None:
    kv, now = services.kv["RS1_RATE_LIMITS"], 1_800_000_000.0
    a, b = WindowCounters(), WindowCounters()
    for i in range(3):
        asyncio.run(a.hit(kv, "k:1", now + i * 1.5))
    # b reads what a wrote, then adds its own request.
    assert asyncio.run(b.hit(kv, "k:1", now + 5)) == 4


def test_a_kv_outage_lets_requests_through(limited) -> None:
    class Broken(MemoryKv):
        async def get(self, key: str) -> str | None:
            raise StorageError("KV unavailable")

    limited.kv["RS1_RATE_LIMITS"] = Broken()
    assert [call(limited).status for _ in range(3)] == [200] * 3


class SlowKv(MemoryKv):
    """MemoryKv whose calls yield to the event loop, as a network call does."""

    async def get(self, key: str) -> str | None:
        await asyncio.sleep(0.01)
        return await super().get(key)

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        await asyncio.sleep(0.01)
        await super().put(key, value, ttl)


def test_requests_counted_while_kv_is_in_flight_are_not_lost() -> None:
    clock = Clock(1_800_000_000.0)
    kv, counters = SlowKv(clock), WindowCounters()

    async def burst() -> list[int]:
        return await asyncio.gather(*(counters.hit(kv, "k:1", clock.now) for _ in range(21)))

    counts = asyncio.run(burst())
    assert sorted(counts) == list(range(1, 22))
    clock.now += 1.5  # the next sync writes everything counted so far
    assert asyncio.run(counters.hit(kv, "k:1", clock.now)) == 22
    assert asyncio.run(kv.get("k:1")) == "22"


@given(now=st.floats(min_value=1e9, max_value=2e9, allow_nan=False))
def test_waiting_retry_after_lands_in_the_next_window(now: float) -> None:
    from rs1.http.rate_limit import retry_after

    window = int(now // WINDOW_S)
    reset = (window + 1) * WINDOW_S
    wait = retry_after(now, reset)
    assert int((now + wait) // WINDOW_S) > window  # the client is let in again
    assert now + wait >= reset and wait <= WINDOW_S
    assert wait - (reset - now) < 1  # and it is not told to wait a second more than needed


def test_retry_after_agrees_with_ratelimit_reset(limited) -> None:
    limited.clock = Clock(1_795_000_000.5)  # half a second into a window
    for _ in range(6):
        response = call(limited)
    assert response.status == 429
    reset = int(response.headers["x-ratelimit-reset"])
    assert limited.clock() + int(response.headers["retry-after"]) >= reset


def test_web_origins_are_the_ones_configured_and_may_send_credentials(services) -> None:
    local = "http://127.0.0.1:8790"
    services.settings = replace(services.settings, web_origins=frozenset({WEB_ORIGIN, local}))
    for origin in (WEB_ORIGIN, local):
        pre = call(services, method="OPTIONS", origin=origin)
        assert pre.headers["access-control-allow-origin"] == origin
        assert pre.headers["access-control-allow-credentials"] == "true"
    other = call(services, origin="http://127.0.0.1:9999")
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-credentials" not in other.headers


@pytest.mark.parametrize(
    "raw",
    [
        "app.optic.works",
        "ftp://x.example",
        "https://x.example/path",
        "https://",
        "https://App.optic.works",  # a browser's Origin is lowercase: it could never match
        "https://app.optic.works:443",
        "https://*.optic.works",
        "https://user@app.optic.works",
        "https://app.optic.works?x",
        "http://app.optic.works",  # plain http only for this machine
        "https://app.optic.works:99999",
    ],
)
def test_web_origins_that_are_not_origins_stop_the_worker(raw: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(SimpleNamespace(WEB_ORIGINS=raw))
    origins = Settings.from_env(
        SimpleNamespace(WEB_ORIGINS=f"{WEB_ORIGIN}, http://localhost:1")
    ).web_origins
    assert origins == {WEB_ORIGIN, "http://localhost:1"}
