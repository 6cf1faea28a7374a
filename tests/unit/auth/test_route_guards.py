"""The router enforces every route's declared auth before its handler runs."""

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import Clock, enroll_one, fresh_db, unit_services
from rs1.apps import device_api, ota, telemetry
from rs1.devices import ownership_store
from rs1.http.app import App
from rs1.http.router import Route
from rs1.identity.sessions import start_session
from rs1.messages import ApiRequest
from rs1.services import Services

APPS = {"device-api": device_api.app, "ota": ota.app, "telemetry": telemetry.app}
DEVICE = "0" * 32
# The first answer of each kind to a caller without credentials.
REFUSAL = {
    "user": (401, "unauthorized"),
    "viewer": (401, "unauthorized"),
    "owner": (401, "unauthorized"),
    "watcher": (401, "unauthorized"),
    "admin": (401, "unauthorized"),
    "webhook": (401, "unauthorized"),
    "device": (401, "unauthorized"),
    "signed": (403, "url_bad_signature"),  # checked by the handler against the image's hash
}


def routes() -> list[tuple[str, Route]]:
    return [(name, r) for name, app in APPS.items() for r in app.router.routes]


def concrete(template: str, device_id: str = DEVICE) -> str:
    values = {"device_id": device_id, "file": "1.0.0.bin"}
    out = template
    for key in (
        "device_id",
        "model",
        "version",
        "rollout_id",
        "jti",
        "user_id",
        "request_id",
        "file",
    ):
        out = out.replace("{" + key + "}", values.get(key, "x"))
    return out


def call(app: App, svc: Services, method: str, path: str, **headers: str) -> tuple[int, dict]:
    request = ApiRequest(method, path, headers=headers, body=b"{}", request_id="r")
    response = asyncio.run(app.handle(request, svc))
    return response.status, json.loads(response.body) if response.body else {}


def test_every_route_declares_a_known_kind() -> None:
    kinds = {r.auth for _, r in routes()}
    assert kinds <= {"none", *REFUSAL}
    # Only health and the OpenAPI-less liveness probes are open to anyone.
    open_routes = sorted(r.template for _, r in routes() if r.auth == "none")
    assert all(t.endswith("/health") for t in open_routes), open_routes


@pytest.mark.parametrize(
    ("app", "route"),
    [(n, r) for n, r in routes() if r.auth != "none"],
    ids=lambda v: v if isinstance(v, str) else f"{v.method} {v.template}",
)
def test_without_credentials_the_route_refuses(services, app, route) -> None:
    status, body = call(APPS[app], services, route.method, concrete(route.template))
    assert (status, body["error"]) == REFUSAL[route.auth]


def _token(svc: Services, sub: str, role: str) -> str:
    token, _ = asyncio.run(
        start_session(svc.kv["SESSIONS"], svc.settings.jwt_secret, sub, role, svc.clock(), 3600)
    )
    return f"Bearer {token}"


def test_admin_routes_refuse_a_user_session(services) -> None:
    user = _token(services, "u-1", "user")
    for _, route in routes():
        if route.auth == "admin":
            status, body = call(device_api.app, services, route.method,
                                concrete(route.template), authorization=user)  # fmt: skip
            assert (status, body["error"]) == (403, "forbidden"), route.template


DEVICE_ROUTES = [r for _, r in routes() if r.auth in ("viewer", "owner")]


@settings(max_examples=30, deadline=None)
@given(role=st.sampled_from(["owner", "viewer", None]), route=st.sampled_from(DEVICE_ROUTES))
def test_device_routes_follow_the_callers_role(role: str | None, route: Route) -> None:
    db = fresh_db()
    svc = unit_services(db, Clock())
    device_id = enroll_one(db, "02:00:00:00:00:01")
    sub = f"u-{role}"
    if role == "owner":
        asyncio.run(ownership_store.claim(db, device_id, sub))
    elif role == "viewer":
        asyncio.run(ownership_store.share(db, device_id, sub))
    path = concrete(route.template, device_id)
    status, body = call(device_api.app, svc, route.method, path,
                        authorization=_token(svc, sub, "user"))  # fmt: skip
    if role is None:
        assert (status, body["error"]) == (404, "not_found")  # the same as an unknown id
    elif role == "viewer" and route.auth == "owner":
        assert (status, body["error"]) == (403, "forbidden")
    else:  # let through: whatever the handler answers, it is not an auth refusal
        assert body.get("error") not in ("unauthorized", "forbidden")
        assert not body.get("message", "").startswith("No device")
