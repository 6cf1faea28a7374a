"""The MQTT access cache: how long a revoked device can still get in, and what is seen at once.

A stale entry is the documented trade: within the TTL an isolate that found the device active
trusts it; after the TTL nothing does. Nothing else may go stale: re-enabling and key rotation
are seen at once, and D1 is read only on a miss.
"""

import asyncio
import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rs1contract.topics import device_topic

from helpers import Clock, fresh_db, unit_services
from rs1.admin.devices import revoke_device
from rs1.audit.trail import Actor, AuditTrail
from rs1.auth.caller import Caller
from rs1.devices import access_cache
from rs1.devices.enrollment import EnrollItem, enroll
from rs1.identity.keys import hour_of, mqtt_password
from rs1.identity.tokens import Claims
from rs1.messages import ApiRequest
from rs1.mqtt.access import authenticate, authorize_request
from rs1.mqtt.webhook_models import AclRequest, AuthRequest
from rs1.services import HttpResult, Services
from rs1.settings import Settings, SettingsError

TTL = 20.0


class CountingDb:
    """The unit database, counting reads of a device's status."""

    def __init__(self, db) -> None:
        self._db = db
        self.status_reads = 0

    def __getattr__(self, name):
        return getattr(self._db, name)

    async def first(self, sql: str, *params):
        if sql.startswith("SELECT status, key_generation FROM devices"):
            self.status_reads += 1
        return await self._db.first(sql, *params)


def cached_services(clock: Clock) -> Services:
    svc = unit_services(fresh_db(), clock)
    settings_ = dataclasses.replace(svc.settings, auth_cache_ttl_s=TTL)
    return dataclasses.replace(svc, settings=settings_, db=CountingDb(svc.db))


def enrolled(svc: Services, rotate: bool = False) -> tuple[str, str]:
    item = EnrollItem("AA:BB:CC:00:00:01")
    result = asyncio.run(enroll(svc.db, svc.settings.device_master_key, [item], rotate))
    return result.enrolled[0]["device_id"], result.enrolled[0]["device_secret"]


def auth(svc: Services, device_id: str, secret: str) -> bool:
    password = mqtt_password(secret, device_id, hour_of(svc.clock()))
    body = AuthRequest(username=device_id, password=password, clientid=device_id, peerhost="p")
    return asyncio.run(authenticate(body, svc))


def publish(svc: Services, device_id: str) -> bool:
    body = AclRequest(username=device_id, clientid=device_id, action="publish",
                      topic=device_topic(device_id, "state"))  # fmt: skip
    return asyncio.run(authorize_request(body, svc)).allowed


def set_status(svc: Services, status: str) -> None:
    asyncio.run(svc.db.run("UPDATE devices SET status = ?", status))


@settings(max_examples=30, deadline=None)
@given(cached_at=st.floats(0, TTL - 0.01), after=st.floats(0, 3 * TTL))
def test_a_revoked_device_gets_in_only_within_the_ttl_of_an_entry_made_before(
    cached_at: float, after: float
) -> None:
    access_cache._entries.clear()
    clock = Clock()
    svc = cached_services(clock)
    device_id, secret = enrolled(svc)
    start = clock.now
    clock.now = start + cached_at
    assert auth(svc, device_id, secret)  # found active in D1: cached until start+cached_at+TTL
    set_status(svc, "revoked")
    clock.now = start + cached_at + after
    expected = after < TTL
    assert auth(svc, device_id, secret) is expected
    assert publish(svc, device_id) is expected


def test_after_the_ttl_every_check_reads_d1_again_and_nothing_negative_is_cached() -> None:
    clock = Clock()
    svc = cached_services(clock)
    device_id, secret = enrolled(svc)
    assert auth(svc, device_id, secret) and publish(svc, device_id)
    reads = svc.db.status_reads
    for _ in range(5):
        assert auth(svc, device_id, secret) and publish(svc, device_id)
    assert svc.db.status_reads == reads  # warm: no D1 read at all
    set_status(svc, "revoked")
    clock.now += TTL
    assert not auth(svc, device_id, secret) and not publish(svc, device_id)
    set_status(svc, "active")
    assert auth(svc, device_id, secret) and publish(svc, device_id)  # re-enabled: at once


def test_a_rotated_key_works_at_once_and_the_old_one_only_until_the_ttl() -> None:
    clock = Clock()
    svc = cached_services(clock)
    device_id, old = enrolled(svc)
    assert auth(svc, device_id, old)
    _, new = enrolled(svc, rotate=True)
    assert new != old
    assert auth(svc, device_id, new)  # a cached secret that fails is checked against D1
    clock.now += TTL
    assert not auth(svc, device_id, old)


def test_a_wrong_password_is_never_allowed_by_the_cache() -> None:
    clock = Clock()
    svc = cached_services(clock)
    device_id, secret = enrolled(svc)
    assert auth(svc, device_id, secret)
    assert not auth(svc, device_id, "0" * 64)
    assert not auth(svc, device_id, mqtt_password(secret, device_id, hour_of(clock()) - 2))


def test_the_ttl_is_bounded_so_the_second_kick_fits_in_wait_until() -> None:
    assert access_cache.ttl(3600) == access_cache.MAX_TTL_S
    assert access_cache.MAX_TTL_S + access_cache.KICK_AGAIN_S <= 30  # Cloudflare's waitUntil
    assert access_cache.ttl(-1) == 0


def test_the_cache_is_bounded() -> None:
    for i in range(access_cache.MAX_ENTRIES + 10):
        access_cache.remember(f"{i:032x}", "s", 0.0, TTL)
    assert len(access_cache._entries) <= access_cache.MAX_ENTRIES


class RecordingHttp:
    """EMQX's HTTP API as far as kicks go: every client is connected."""

    def __init__(self) -> None:
        self.kicks: list[str] = []

    async def request(self, method: str, url: str, headers, body=None) -> HttpResult:
        if method == "DELETE":
            self.kicks.append(url.rsplit("/", 1)[1])
        return HttpResult(204, b"")


def revoke(svc: Services, device_id: str) -> list:
    deferred: list = []
    svc = dataclasses.replace(svc, defer=deferred.append)
    caller = Caller(Claims("ops", "admin", 2**31, "jti"))
    request = ApiRequest("POST", f"/admin/devices/{device_id}/revoke")
    audit = AuditTrail("device.revoke", Actor("admin", "ops"), "req", "", 0)
    answer = asyncio.run(revoke_device(request, svc, device_id, caller=caller, audit=audit))
    assert json.loads(answer.body)["session"] == "ended"
    return deferred


def test_revocation_kicks_again_once_no_cache_can_admit_the_device(monkeypatch) -> None:
    monkeypatch.setattr(access_cache, "KICK_AGAIN_S", 0.0)
    monkeypatch.setattr(access_cache, "MAX_TTL_S", 0.0)
    http = RecordingHttp()
    svc = dataclasses.replace(cached_services(Clock()), http=http)
    svc = dataclasses.replace(svc, settings=dataclasses.replace(svc.settings, auth_cache_ttl_s=0))
    device_id, _ = enrolled(svc)
    (again,) = revoke(svc, device_id)
    assert http.kicks == [device_id]
    asyncio.run(again)
    assert http.kicks == [device_id, device_id]
    # Re-enabled before the second kick: the device keeps its new session.
    (again,) = revoke(svc, device_id)
    set_status(svc, "active")
    asyncio.run(again)
    assert http.kicks == [device_id] * 3


def test_the_second_kick_waits_past_the_longest_cache_any_worker_may_hold(monkeypatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("rs1.admin.devices.asyncio.sleep", sleep)
    http = RecordingHttp()
    svc = dataclasses.replace(cached_services(Clock()), http=http)  # this Worker's TTL: 20 s
    device_id, _ = enrolled(svc)
    (again,) = revoke(svc, device_id)
    asyncio.run(again)
    assert slept == [access_cache.MAX_TTL_S + access_cache.KICK_AGAIN_S]
    assert slept[0] <= 30  # inside Cloudflare's waitUntil


def test_a_malformed_ttl_is_a_settings_error_not_a_default() -> None:
    class Env:
        AUTH_CACHE_TTL_S = "nan"

    with pytest.raises(SettingsError):
        Settings.from_env(Env())
    Env.AUTH_CACHE_TTL_S = "5"
    assert Settings.from_env(Env()).auth_cache_ttl_s == 5.0
