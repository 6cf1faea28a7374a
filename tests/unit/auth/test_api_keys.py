"""Scoped API keys: the key format, and the router's scope check over every route and every
set of scopes (a key does exactly what its scopes name, whatever the route)."""

import asyncio
import json
import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import Clock, enroll_one, fresh_db, random_mac, unit_services
from rs1.apps.device_api import build_app
from rs1.http.scopes import SCOPES, allows
from rs1.identity import api_key_store
from rs1.identity.api_keys import key_id_of, matches, new_key
from rs1.messages import ApiRequest

APP = build_app()
KEYLESS = {"none", "signed", "webhook", "device"}
ROUTES = [r for r in APP.router.routes if r.auth not in KEYLESS]
PARAMS = {
    "rollout_id": "r" * 8,
    "key_id": "0" * 16,
    "jti": "0" * 32,
    "user_id": "someone",
    "model": "RS-1",
    "version": "1.0.0",
    "request_id": "0" * 16,
    "day": "2026-01-01",
    "endpoint_id": "ep_0",
    "event_id": "evt_0",
    "delivery_id": "d_0",
}


def run(coro):
    return asyncio.run(coro)


@given(st.integers(0, 3))
def test_a_new_key_is_prefixed_found_by_its_id_and_matches_only_itself(_n) -> None:
    made = new_key()
    assert made.key.startswith("rs1_live_") and key_id_of(made.key) == made.key_id
    assert matches(made.key, made.secret_hash)
    assert not matches(made.key[:-1] + ("A" if made.key[-1] != "A" else "B"), made.secret_hash)
    assert made.key not in made.secret_hash


@pytest.fixture(scope="module")
def world():
    db = fresh_db()
    svc = unit_services(db, Clock(1_795_000_000.0))
    # Hundreds of calls in one frozen minute: the per-IP limit is not what is tested here.
    svc = replace(svc, settings=replace(svc.settings, api_rate_limit=10**9))
    return svc, enroll_one(db, random_mac())


def _key(svc, scopes: set[str], role: str = "admin", expires_at: str | None = None) -> str:
    made = new_key()
    run(api_key_store.insert(svc.db, made.key_id, "t", made.secret_hash, sorted(scopes), role,
                             f"apikey:{made.key_id}", "ops", "2026-01-01T00:00:00.000Z",
                             expires_at))  # fmt: skip
    return made.key


def _call(svc, method: str, path: str, key: str, body: bytes = b"{}"):
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    request = ApiRequest(method, path, headers=headers, body=body, request_id="t")
    return run(APP.handle(request, svc))


def _path(template: str, device_id: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m.group(1), device_id), template)


def _refused_for_scope(response) -> bool:
    return response.status == 403 and json.loads(response.body)["error"] == "insufficient_scope"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), scopes=st.sets(st.sampled_from(SCOPES)))
def test_every_route_checks_the_key_against_its_own_scope(world, route, scopes) -> None:
    svc, device_id = world
    response = _call(svc, route.method, _path(route.template, device_id), _key(svc, scopes))
    assert _refused_for_scope(response) == (not allows(frozenset(scopes), route.scope))


def test_every_key_route_declares_a_known_scope_and_key_admin_is_for_sessions_only() -> None:
    for route in ROUTES:
        assert route.scope in (*SCOPES, "any", None), route.template
    closed = {(r.method, r.template) for r in ROUTES if r.scope is None}
    assert ("POST", "/admin/keys") in closed and ("POST", "/admin/sessions") in closed


def test_a_devices_read_key_cannot_put_zones(world) -> None:
    svc, device_id = world
    key = _key(svc, {"devices:read"})
    assert _call(svc, "GET", f"/api/devices/{device_id}/zones", key).status == 200
    put = _call(svc, "PUT", f"/api/devices/{device_id}/zones", key, b'{"zones": []}')
    assert _refused_for_scope(put)


def test_revoked_expired_and_forged_keys_are_refused(world) -> None:
    svc, _ = world
    key = _key(svc, {"devices:read"})
    made = key_id_of(key)
    assert made is not None
    run(api_key_store.revoke(svc.db, made, "2026-01-02T00:00:00.000Z"))
    old = _key(svc, {"devices:read"}, expires_at="2026-01-01T00:00:00.000Z")
    forged = key[:-4] + "AAAA"
    for bad in (key, old, forged, "rs1_live_nonsense"):
        assert _call(svc, "GET", "/api/devices", bad).status == 401


def test_a_user_key_sees_only_its_users_devices(world) -> None:
    svc, device_id = world
    made = new_key()
    at = "2026-01-01T00:00:00.000Z"
    run(api_key_store.insert(svc.db, made.key_id, "ha", made.secret_hash, ["devices:read"],
                             "user", "nobody", "ops", at, None))  # fmt: skip
    assert _call(svc, "GET", f"/api/devices/{device_id}", made.key).status == 404
    assert _call(svc, "GET", "/admin/fleet", made.key).status == 403
