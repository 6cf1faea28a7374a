"""The user device API: only your devices, sharing as viewer, details."""

import random
import uuid

import httpx

from rs1.identity.claim import claim_code


def claim(client: httpx.Client, device: dict) -> None:
    body = {"device_id": device["device_id"], "claim_code": claim_code(device["device_secret"])}
    assert client.post("/api/devices/claim", json=body).status_code == 201


def test_no_user_reads_or_changes_another_users_device(as_user, enroll) -> None:
    rnd = random.Random(7)
    subs = [f"u{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    users = {sub: as_user(sub) for sub in subs}
    owned: dict[str, set[str]] = {sub: set() for sub in users}
    devices = [enroll() for _ in range(10)]
    for device in devices:
        sub = rnd.choice(list(users))
        claim(users[sub], device)
        owned[sub].add(device["device_id"])
    for sub, client in users.items():
        listed = {d["device_id"] for d in client.get("/api/devices").json()["devices"]}
        assert listed == owned[sub]
        for device in devices:
            me = device["device_id"]
            mine = me in owned[sub]
            assert client.get(f"/api/devices/{me}").status_code == (200 if mine else 404)
            put = client.put(
                f"/api/devices/{me}/zones", json={"zones": []}, headers={"if-match": "0"}
            )
            assert (put.status_code in (200, 409)) if mine else put.status_code == 404
            share = client.post(f"/api/devices/{me}/share", json={"user_id": "mallory"})
            assert share.status_code == (200 if mine else 404)


def test_viewers_read_but_do_not_write(as_user, enroll) -> None:
    owner, viewer = as_user("olga"), as_user("victor")
    device = enroll()
    claim(owner, device)
    me = device["device_id"]
    assert owner.post(f"/api/devices/{me}/share", json={"user_id": "victor"}).status_code == 200
    detail = viewer.get(f"/api/devices/{me}")
    assert detail.status_code == 200 and detail.json()["role"] == "viewer"
    assert (
        viewer.put(
            f"/api/devices/{me}/zones", json={"zones": []}, headers={"if-match": "0"}
        ).status_code
        == 403
    )
    assert viewer.post(f"/api/devices/{me}/share", json={"user_id": "x"}).status_code == 403
    assert owner.delete(f"/api/devices/{me}/share/victor").status_code == 204
    assert viewer.get(f"/api/devices/{me}").status_code == 404
    assert owner.get("/api/devices", params={"online": "true"}).json()["devices"] == []
    assert owner.get("/api/devices", params={"online": "maybe"}).status_code == 400


def test_browser_policy_over_http(as_user) -> None:
    client = as_user("browser-user")
    response = client.get("/api/devices", headers={"origin": "https://app.optic.works"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.optic.works"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["x-ratelimit-remaining"]) > 0
    preflight = client.options(
        "/api/devices/x/zones",
        headers={"origin": "https://app.optic.works", "access-control-request-method": "PUT"},
    )
    assert preflight.status_code == 204
    assert "PUT" in preflight.headers["access-control-allow-methods"]
