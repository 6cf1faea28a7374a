"""The webhook's fan-out to watched devices, and the WebSocket route's checks (rs1.live)."""

import asyncio
import json
from dataclasses import replace

import pytest

from rs1.apps import device_api
from rs1.auth import guards
from rs1.auth.caller import Caller
from rs1.http.errors import ApiError
from rs1.identity.tokens import Claims
from rs1.live.fanout import MAX_LOOKUPS, WatchMemo, fan_out, schedule_fan_out, watched_devices
from rs1.live.protocol import PROTOCOL
from rs1.live.room import marker_key
from rs1.messages import ApiRequest, ApiResponse
from rs1.storage.memory import MemoryKv
from rs1.telemetry.ingest import RawRow

DEV_A, DEV_B, DEV_C = "a" * 32, "b" * 32, "c" * 32


def row(device_id: str, message_id: str, kind: str = "targets") -> RawRow:
    payload = json.dumps({"message_id": message_id, "ts": 1, "targets": []})
    return RawRow(
        device_id, message_id, kind, f"opticworks/{device_id}/telemetry/{kind}", 1, 2, payload
    )


def run(coro):
    return asyncio.run(coro)


class FakeLive:
    def __init__(self, fail_for: str | None = None) -> None:
        self.published: dict[str, list[str]] = {}
        self.connected: list[tuple[str, str | None]] = []
        self.fail_for = fail_for

    async def publish(self, device_id, frames) -> None:
        if device_id == self.fail_for:
            raise RuntimeError("object unreachable")
        self.published.setdefault(device_id, []).extend(f["message_id"] for f in frames)

    async def connect(self, device_id, protocol, watcher) -> ApiResponse:
        assert watcher.device_id == device_id  # the object learns who watches
        self.connected.append((device_id, protocol))
        return ApiResponse(101)


class CountingKv(MemoryKv):
    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.reads = 0

    async def get(self, key: str) -> str | None:
        self.reads += 1
        return await super().get(key)


@pytest.fixture
def live(services, clock) -> FakeLive:
    services.live = FakeLive()
    services.kv["RS1_CACHE"] = CountingKv(clock)
    return services.live


def test_only_watched_devices_are_published_to(services, live) -> None:
    run(services.kv["RS1_CACHE"].put(marker_key(DEV_A), "1"))
    rows = [row(DEV_A, "a-1"), row(DEV_B, "b-1"), row(DEV_A, "a-2", "health"), row(DEV_A, "a-3")]
    deferred: list = []
    services.defer = deferred.append
    schedule_fan_out(services, rows)
    assert len(deferred) == 1
    run(deferred[0])
    assert live.published == {DEV_A: ["a-1", "a-3"]}


def test_nothing_is_deferred_without_targets_or_without_the_binding(services, live) -> None:
    deferred: list = []
    services.defer = deferred.append
    schedule_fan_out(services, [row(DEV_A, "a-1", "presence")])
    services.live = None
    schedule_fan_out(services, [row(DEV_A, "a-2")])
    assert deferred == []


def test_marker_lookups_are_memoised_per_isolate(services, live, clock) -> None:
    kv, memo = services.kv["RS1_CACHE"], WatchMemo(ttl_s=5)
    rows = {DEV_A: [row(DEV_A, "a-1")], DEV_B: [row(DEV_B, "b-1")]}
    run(fan_out(services, rows, memo))
    run(fan_out(services, rows, memo))
    assert kv.reads == 2 and live.published == {}
    run(kv.put(marker_key(DEV_A), "1"))  # a watcher arrives: seen once the memo expires
    run(fan_out(services, rows, memo))
    assert live.published == {}
    clock.now += 5
    run(fan_out(services, rows, memo))
    assert live.published == {DEV_A: ["a-1"]} and kv.reads == 4


def test_a_batch_looks_up_a_bounded_number_of_devices(services, live) -> None:
    devices = [f"{i:032x}" for i in range(MAX_LOOKUPS + 10)]
    kv = services.kv["RS1_CACHE"]
    for device_id in devices:
        run(kv.put(marker_key(device_id), "1"))
    memo = WatchMemo()
    assert len(run(watched_devices(kv, devices, services.clock, memo))) == MAX_LOOKUPS
    assert len(run(watched_devices(kv, devices, services.clock, memo))) == len(devices)


def test_a_failing_object_is_logged_and_spares_the_others(services, clock, capsys) -> None:
    services.live = live = FakeLive(fail_for=DEV_B)
    services.kv["RS1_CACHE"] = kv = MemoryKv(clock)
    for device_id in (DEV_A, DEV_B, DEV_C):
        run(kv.put(marker_key(device_id), "1"))
    rows = {d: [row(d, f"{d[0]}-1")] for d in (DEV_A, DEV_B, DEV_C)}
    run(fan_out(services, rows, WatchMemo()))
    assert set(live.published) == {DEV_A, DEV_C}
    assert "live_publish_failed" in capsys.readouterr().err


def test_the_memo_stays_bounded() -> None:
    memo = WatchMemo(ttl_s=1, limit=3)
    for i in range(10):
        memo.put(str(i), True, now=float(i))
    assert memo.get("9", 9.5) is True
    assert len(memo._entries) <= 3


# -- the route ---------------------------------------------------------------------------


@pytest.fixture
def seen(monkeypatch) -> list[ApiRequest]:
    """The route's device check stand-in: 401 without a token, 404 for device C, else the
    owner. It records the request as the check saw it (a subprotocol token as the bearer)."""
    calls: list[ApiRequest] = []

    async def on_device(request, svc, device_id):
        calls.append(request)
        if not request.header("authorization"):
            raise ApiError(401, "unauthorized", "A bearer token is required.")
        if device_id == DEV_C:
            raise ApiError(404, "not_found", "No device.")
        return Caller(Claims("owner-1", "user", 2_000_000_000, "ab" * 16), "owner")

    monkeypatch.setattr(guards, "_on_device", on_device)
    return calls


def upgrade(device_id: str = DEV_A, **headers: str) -> ApiRequest:
    return ApiRequest(
        "GET", f"/api/devices/{device_id}/targets", headers={"upgrade": "websocket", **headers}
    )


def watch(request: ApiRequest, services) -> ApiResponse:
    """Through the device API's router, as production routes it."""
    return run(device_api.app.handle(request, services))


def error_of(response: ApiResponse) -> tuple[int, str]:
    return response.status, json.loads(response.body)["error"]


def test_a_subprotocol_token_becomes_the_bearer_and_the_answer_is_ours(
    services, live, seen
) -> None:
    request = upgrade(**{"sec-websocket-protocol": f"{PROTOCOL}, bearer.h.p.s"})
    assert watch(request, services).status == 101
    assert seen[-1].header("authorization") == "Bearer h.p.s"
    assert live.connected == [(DEV_A, PROTOCOL)]


def test_an_authorization_header_wins_and_needs_no_subprotocol(services, live, seen) -> None:
    request = upgrade(authorization="Bearer x.y.z")
    watch(request, services)
    assert seen[-1].header("authorization") == "Bearer x.y.z"
    assert live.connected == [(DEV_A, None)]
    both = upgrade(
        authorization="Bearer x.y.z", **{"sec-websocket-protocol": f"{PROTOCOL}, bearer.o.t.h"}
    )
    watch(both, services)
    assert seen[-1].header("authorization") == "Bearer x.y.z"


@pytest.mark.parametrize(
    ("request_", "status", "code"),
    [
        (upgrade(), 401, "unauthorized"),
        (upgrade(DEV_C, authorization="Bearer x.y.z"), 404, "not_found"),
        (
            replace(
                upgrade(authorization="Bearer x.y.z"), headers={"authorization": "Bearer x.y.z"}
            ),
            426,
            "upgrade_required",
        ),
        (
            upgrade(**{"sec-websocket-protocol": "chat, bearer.x.y.z"}),
            400,
            "invalid_subprotocol",
        ),
    ],
)
def test_refusals(services, live, seen, request_, status, code) -> None:
    assert error_of(watch(request_, services)) == (status, code)
    assert live.connected == []


def test_a_stranger_learns_nothing_from_a_plain_get(services, live, seen) -> None:
    plain = ApiRequest(
        "GET", f"/api/devices/{DEV_C}/targets", headers={"authorization": "Bearer x"}
    )
    assert error_of(watch(plain, services))[0] == 404  # not 426: access is checked first


def test_without_the_binding_it_is_a_503(services, seen) -> None:
    services.live = None
    assert error_of(watch(upgrade(authorization="Bearer x.y.z"), services))[0] == 503
