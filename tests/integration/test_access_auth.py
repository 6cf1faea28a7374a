"""Cloudflare Access identities over HTTP (a local JWKS server plays the Access team)."""

import time

import access_idp
import httpx
import jwt

from rs1tools.devvars import secret

HEADER = "cf-access-jwt-assertion"


def test_an_access_identity_is_a_user_named_by_email(device_api: httpx.Client, access_key):
    token = access_idp.access_token(access_key, "Ada@Optic.Works")
    me = device_api.get("/api/auth/session", headers={HEADER: token})
    assert me.status_code == 200, me.text
    assert (me.json()["sub"], me.json()["role"]) == ("ada@optic.works", "user")
    listed = device_api.get("/api/devices", headers={HEADER: token})
    assert listed.status_code == 200 and listed.json()["devices"] == []
    # Users, not ops: the admin API stays closed to Access identities.
    assert device_api.get("/admin/fleet", headers={HEADER: token}).status_code == 403


def test_forged_expired_and_foreign_access_tokens_are_refused(device_api, access_key) -> None:
    now = int(time.time())
    stranger = access_idp.new_key()
    hs256 = jwt.encode(
        {"aud": [access_idp.AUDIENCE], "iss": access_idp.ISSUER, "email": "x@y.z",
         "exp": now + 600}, secret("JWT_SECRET"), algorithm="HS256",
    )  # fmt: skip
    refused = {
        "another key": access_idp.access_token(stranger, "eve@optic.works"),
        "expired": access_idp.access_token(access_key, "a@b.c", exp=now - 1, iat=now - 700),
        "another app": access_idp.access_token(access_key, "a@b.c", aud=["other-app"]),
        "another team": access_idp.access_token(access_key, "a@b.c", iss="https://evil.com"),
        "service token": access_idp.access_token(access_key, None, common_name="svc"),
        "HS256 with our JWT secret": hs256,
        "garbage": "not.a.jwt",
    }
    for why, token in refused.items():
        response = device_api.get("/api/devices", headers={HEADER: token})
        assert response.status_code == 401, why
        assert response.json()["error"] == "unauthorized", why


def test_a_bearer_token_wins_over_an_access_assertion(device_api, access_key, user_token):
    headers = {
        HEADER: access_idp.access_token(access_key, "ada@optic.works"),
        "authorization": f"Bearer {user_token('bearer-user')}",
    }
    assert device_api.get("/api/auth/session", headers=headers).json()["sub"] == "bearer-user"


def test_access_sessions_are_only_for_our_own_web_app(device_api, access_key) -> None:
    token = access_idp.access_token(access_key, "ada@optic.works")
    ours = device_api.get(
        "/api/devices", headers={HEADER: token, "origin": "https://app.optic.works"}
    )
    assert ours.status_code == 200
    theirs = device_api.post(
        "/api/devices/claim",
        json={"device_id": "0" * 32, "claim_code": "X"},
        headers={HEADER: token, "origin": "https://evil.example"},
    )
    assert theirs.status_code == 403 and theirs.json()["error"] == "forbidden_origin"
    # Logging out of Access is Access's business; the API says so instead of pretending.
    logout = device_api.post("/api/auth/logout", headers={HEADER: token})
    assert logout.status_code == 409 and "/cdn-cgi/access/logout" in logout.json()["message"]
