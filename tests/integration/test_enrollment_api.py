"""Admin enrolment over HTTP on the running device API."""

import time

import httpx

from helpers import random_mac
from rs1.identity.device_id import device_id_from_mac
from rs1.identity.tokens import mint_token
from rs1tools.devvars import secret


def test_enrol_returns_id_and_secret(admin: httpx.Client) -> None:
    mac = random_mac()
    response = admin.post("/admin/devices", json={"mac_address": mac.lower(), "model": "RS-1"})
    body = response.json()
    assert response.status_code == 201
    assert body["device_id"] == device_id_from_mac(mac)
    assert len(body["device_secret"]) == 64 and body["key_generation"] == 1
    shown = admin.get(f"/admin/devices/{body['device_id']}").json()
    assert shown["mac_address"] == mac and shown["status"] == "active"
    assert "device_secret" not in shown


def test_re_enrolment_is_409_unless_rotate(admin: httpx.Client, enroll) -> None:
    first = enroll()
    again = admin.post("/admin/devices", json={"mac_address": first["mac_address"]})
    assert again.status_code == 409 and again.json()["error"] == "already_enrolled"
    rotated = admin.post("/admin/devices?rotate=true", json={"mac_address": first["mac_address"]})
    assert rotated.status_code == 200
    assert rotated.json()["key_generation"] == 2
    assert rotated.json()["device_secret"] != first["device_secret"]


def test_malformed_mac_is_400(admin: httpx.Client) -> None:
    for bad in ("zz:zz", "", "AA:BB:CC:DD:EE:FF:00"):
        response = admin.post("/admin/devices", json={"mac_address": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"] in ("invalid_mac", "invalid_request")


def test_batch_enrolment(admin: httpx.Client) -> None:
    macs = [random_mac() for _ in range(300)]
    response = admin.post(
        "/admin/devices:batch",
        json={"devices": [{"mac_address": m} for m in [*macs, "bad", macs[0]]]},
    )
    body = response.json()
    assert response.status_code == 200
    assert len(body["enrolled"]) == 300
    assert [i["index"] for i in body["invalid"]] == [300, 301]


def test_admin_calls_need_an_admin_token(system, user_token) -> None:
    now = time.time()
    jwt_secret = secret("JWT_SECRET")
    cases = {
        None: 401,
        "Bearer garbage": 401,
        f"Bearer {mint_token(jwt_secret, 'x', 'admin', now - 7200, 60)}": 401,  # expired
        f"Bearer {mint_token('another-secret-of-at-least-32-byte', 'x', 'admin', now)}": 401,
        f"Bearer {mint_token(jwt_secret, 'x', 'admin', now)}": 401,  # signed, but no session
        f"Bearer {user_token('someone')}": 403,
    }
    with system.client("device_api") as client:
        for header, status in cases.items():
            headers = {"authorization": header} if header else {}
            response = client.post(
                "/admin/devices", json={"mac_address": random_mac()}, headers=headers
            )
            assert response.status_code == status, header
            assert response.json()["error"] in ("unauthorized", "forbidden")
