"""The audit trail, scoped API keys and tags over HTTP against the running system."""

import time
import uuid

import httpx
import pytest

from rs1.audit.chain import verify

ZONES = {
    "zones": [
        {"name": "desk", "type": "include", "vertices": [[-500, 1000], [500, 1000], [500, 2000]]}
    ],
    "sensitivity": 5,
    "hold_time_s": 10,
}


def records(admin: httpx.Client, **filters) -> list[dict]:
    response = admin.get("/admin/audit", params=filters)
    assert response.status_code == 200, response.text
    return response.json()["records"]


def new_key(admin: httpx.Client, *scopes: str, **extra) -> dict:
    body = {"name": f"it-{uuid.uuid4().hex[:6]}", "scopes": list(scopes), **extra}
    response = admin.post("/admin/keys", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def keyed(system, key: str) -> httpx.Client:
    client = system.client("device_api")
    client.headers["authorization"] = f"Bearer {key}"
    return client


def test_a_mutating_call_writes_one_record_with_its_request_id(admin, enroll) -> None:
    device = enroll()["device_id"]
    request_id = f"it-{uuid.uuid4().hex[:12]}"
    response = admin.post(f"/admin/devices/{device}/revoke", headers={"x-request-id": request_id})
    assert response.status_code == 200, response.text
    found = [r for r in records(admin, target=device) if r["request_id"] == request_id]
    assert len(found) == 1
    record = found[0]
    assert record["action"] == "device.revoke" and record["actor"]["type"] == "admin"
    assert record["target"] == {"type": "device", "id": device}
    assert record["summary"]["after"] == {"status": "revoked"}
    assert record["client_ip"]


def test_enrolment_records_never_hold_the_device_key(admin) -> None:
    response = admin.post("/admin/devices", json={"mac_address": "02:00:5e:10:20:31"})
    assert response.status_code in (200, 201), response.text
    secret = response.json()["device_secret"]
    text = admin.get("/admin/audit", params={"action": "device.enroll"}).text
    assert secret not in text


def test_a_refused_change_leaves_no_record(admin, enroll) -> None:
    before = len(records(admin, action="device.enable", limit=500))
    assert admin.post(f"/admin/devices/{'f' * 32}/enable").status_code == 404
    assert len(records(admin, action="device.enable", limit=500)) == before


def test_audit_pages_with_cursors_and_filters(admin, enroll) -> None:
    device = enroll()["device_id"]
    for k in range(3):
        response = admin.put(f"/admin/devices/{device}/tags", json={"set": {"n": str(k)}})
        assert response.status_code == 200, response.text
    first = admin.get("/admin/audit", params={"target": device, "limit": 2}).json()
    assert len(first["records"]) == 2 and first["next_cursor"]
    rest = admin.get("/admin/audit", params={"target": device, "cursor": first["next_cursor"]})
    seqs = [r["seq"] for r in first["records"] + rest.json()["records"]]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == len(set(seqs)) >= 4
    bad = admin.get("/admin/audit", params={"cursor": "nope"})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request"


def test_tags_set_remove_and_show(admin, enroll) -> None:
    device = enroll()["device_id"]
    response = admin.put(f"/admin/devices/{device}/tags", json={"set": {"site": "berlin"}})
    assert response.json() == {"device_id": device, "tags": {"site": "berlin"}}
    body = {"set": {"floor": "2"}, "remove": ["site"]}
    assert admin.put(f"/admin/devices/{device}/tags", json=body).json()["tags"] == {"floor": "2"}
    assert admin.get(f"/admin/devices/{device}").json()["tags"] == {"floor": "2"}
    bad = admin.put(f"/admin/devices/{device}/tags", json={"set": {"Bad Key": "x"}})
    assert bad.status_code == 422
    unknown = admin.put(f"/admin/devices/{'f' * 32}/tags", json={"set": {"a": "b"}})
    assert unknown.status_code == 404


def test_a_devices_read_key_reads_but_cannot_put_zones(system, admin, enroll) -> None:
    device = enroll()["device_id"]
    made = new_key(admin, "devices:read")
    assert made["key"].startswith("rs1_live_")
    listed = admin.get("/admin/keys").text
    assert made["key_id"] in listed and made["key"] not in listed
    with keyed(system, made["key"]) as key:
        assert key.get(f"/api/devices/{device}").status_code == 200
        put = key.put(f"/api/devices/{device}/zones", json=ZONES, headers={"if-match": "0"})
        assert put.status_code == 403 and put.json()["error"] == "insufficient_scope"
        minted = key.post("/admin/keys", json={"name": "x", "scopes": ["audit:read"]})
        assert minted.status_code == 403  # a key never mints keys


def test_a_key_acts_audited_as_itself_and_stops_when_revoked(system, admin, enroll) -> None:
    device = enroll()["device_id"]
    made = new_key(admin, "devices:write", "devices:read")
    with keyed(system, made["key"]) as key:
        response = key.put(f"/admin/devices/{device}/tags", json={"set": {"via": "key"}})
        assert response.status_code == 200, response.text
        found = records(admin, actor=made["key_id"])
        assert [r["action"] for r in found] == ["device.tags"]
        assert admin.delete(f"/admin/keys/{made['key_id']}").status_code == 200
        refused = key.get(f"/api/devices/{device}")
        assert refused.status_code == 401
    shown = [k for k in admin.get("/admin/keys").json()["keys"] if k["key_id"] == made["key_id"]]
    assert shown[0]["revoked_at"] and shown[0]["last_used_at"] and shown[0]["uses"] >= 1


def test_keys_are_validated(admin) -> None:
    bad = admin.post("/admin/keys", json={"name": "x", "scopes": ["root"]})
    assert bad.status_code == 422
    past = admin.post(
        "/admin/keys",
        json={"name": "x", "scopes": ["audit:read"], "expires_at": "2001-01-01T00:00:00Z"},
    )
    assert past.status_code == 422
    user = admin.post("/admin/keys", json={"name": "x", "scopes": ["audit:read"], "role": "user"})
    assert user.status_code == 422 and user.json()["error"] == "sub_required"


@pytest.mark.timeout(300)
def test_the_daily_export_verifies_as_a_chain(admin, telemetry, enroll) -> None:
    enroll()  # at least one record today
    tomorrow = int(time.time() * 1000) + 86_400_000
    response = telemetry.get(
        "/cdn-cgi/local/scheduled", params={"cron": "15 3 * * *", "time": tomorrow}
    )
    assert response.status_code == 200, response.text
    exports = admin.get("/admin/audit/exports").json()["exports"]
    assert exports, "no day was exported"
    days = []
    for row in exports:
        text = admin.get(f"/admin/audit/exports/{row['day']}")
        assert text.status_code == 200 and "ndjson" in text.headers["content-type"]
        days.append((row["day"], text.text))
    verdict = verify(days)
    assert verdict.ok, verdict.problems
    assert verdict.last_hash == exports[-1]["last_hash"]
    assert admin.get("/admin/audit/exports/1999-01-01").status_code == 404


def test_session_issue_and_revoke_are_recorded_once_each(admin) -> None:
    sub = f"it-{uuid.uuid4().hex[:6]}"
    issued = admin.post("/admin/sessions", json={"sub": sub, "role": "user", "ttl_s": 600})
    assert issued.status_code == 201, issued.text
    jti = issued.json()["jti"]
    assert admin.delete(f"/admin/sessions/{jti}").status_code == 204
    found = records(admin, target=jti)
    assert sorted(r["action"] for r in found) == ["session.create", "session.revoke"]
    assert issued.json()["token"] not in admin.get("/admin/audit", params={"target": jti}).text
