"""Sessions over HTTP: a token works only while its session lives in KV SESSIONS."""

import time

import httpx

from rs1.identity.tokens import mint_token
from rs1tools.devvars import secret
from rs1tools.sessions import bearer


def test_who_am_i_then_logout_ends_the_token(device_api: httpx.Client, user_token) -> None:
    headers = bearer(user_token("lena"))
    me = device_api.get("/api/auth/session", headers=headers)
    assert me.status_code == 200
    assert (me.json()["sub"], me.json()["role"]) == ("lena", "user")
    assert device_api.get("/api/devices", headers=headers).status_code == 200

    assert device_api.post("/api/auth/logout", headers=headers).status_code == 204
    for method, path in (("GET", "/api/devices"), ("POST", "/api/auth/logout")):
        refused = device_api.request(method, path, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"
        assert "www-authenticate" in refused.headers


def test_a_validly_signed_token_without_a_session_is_refused(device_api: httpx.Client) -> None:
    token = mint_token(secret("JWT_SECRET"), "mallory", "user", time.time(), 600)
    response = device_api.get("/api/devices", headers=bearer(token))
    assert response.status_code == 401
    assert "session" in response.json()["message"]


def test_admin_revokes_a_session(admin: httpx.Client, device_api: httpx.Client) -> None:
    issued = admin.post("/admin/sessions", json={"sub": "ivan", "ttl_s": 600})
    assert issued.status_code == 201
    body = issued.json()
    assert body["expires_at"] - time.time() <= 600
    headers = bearer(body["token"])
    assert device_api.get("/api/devices", headers=headers).status_code == 200
    assert admin.delete(f"/admin/sessions/{body['jti']}").status_code == 204
    assert device_api.get("/api/devices", headers=headers).status_code == 401


def test_session_requests_are_validated(admin: httpx.Client, user_token) -> None:
    for body in ({"sub": ""}, {"sub": "x", "ttl_s": 86_401}, {"sub": "x", "role": "root"}):
        response = admin.post("/admin/sessions", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_request"
    assert admin.delete("/admin/sessions/not-a-jti").status_code == 404
    user = bearer(user_token("not-an-admin"))
    forbidden = admin.post("/admin/sessions", json={"sub": "x"}, headers=user)
    assert forbidden.status_code == 403
