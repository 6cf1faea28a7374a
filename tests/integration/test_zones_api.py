"""Zone configurations over HTTP: claim, versioning with If-Match, validation, device acks."""

import json
import time
import uuid

import httpx
import pytest
from rs1contract.topics import device_topic

from rs1.identity.claim import claim_code

ZONES = {
    "zones": [
        {
            "name": "desk",
            "type": "include",
            "vertices": [[-500, 1000], [500, 1000], [500, 2000], [-500, 2000]],
        },
        {"name": "door", "type": "exclude", "vertices": [[800, 3000], [1200, 3000], [1000, 3500]]},
    ],
    "sensitivity": 6,
    "hold_time_s": 20,
}


@pytest.fixture
def owned(as_user, enroll):
    device = enroll()
    alice = as_user(f"alice-{uuid.uuid4().hex[:6]}")
    code = claim_code(device["device_secret"])
    response = alice.post(
        "/api/devices/claim", json={"device_id": device["device_id"], "claim_code": code}
    )
    assert response.status_code == 201, response.text
    return device, alice


def ack(webhook: httpx.Client, device_id: str, version: int, status: str, error=None) -> dict:
    now = int(time.time() * 1000)
    payload = {"version": version, "status": status, **({"error": error} if error else {})}
    body = {"id": uuid.uuid4().hex, "clientid": device_id, "username": device_id,
            "topic": device_topic(device_id, "config", "status"), "payload": json.dumps(payload),
            "timestamp": now, "publish_received_at": now}  # fmt: skip
    response = webhook.post("/webhook/config-status", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_claims_are_exclusive_and_codes_checked(as_user, enroll) -> None:
    device = enroll()
    bob, eve = as_user("bob"), as_user("eve")
    wrong = bob.post(
        "/api/devices/claim", json={"device_id": device["device_id"], "claim_code": "AAAAAAAAAA"}
    )
    assert wrong.status_code == 404
    code = claim_code(device["device_secret"])
    assert (
        bob.post(
            "/api/devices/claim", json={"device_id": device["device_id"], "claim_code": code}
        ).status_code
        == 201
    )
    taken = eve.post(
        "/api/devices/claim", json={"device_id": device["device_id"], "claim_code": code}
    )
    assert taken.status_code == 409
    # Not her device: a 404, indistinguishable from a device that does not exist.
    assert eve.get(f"/api/devices/{device['device_id']}/zones").status_code == 404
    assert eve.get(f"/api/devices/{'0' * 32}/zones").status_code == 404


def test_versioned_zones_with_if_match_and_acks(owned, webhook) -> None:
    device, alice = owned
    me = device["device_id"]
    empty = alice.get(f"/api/devices/{me}/zones")
    assert empty.status_code == 200 and empty.json()["desired_version"] == 0
    assert alice.put(f"/api/devices/{me}/zones", json=ZONES).status_code == 428
    first = alice.put(f"/api/devices/{me}/zones", json=ZONES, headers={"if-match": "0"})
    assert first.status_code == 200, first.text
    assert first.json()["desired_version"] == 1 and first.headers["etag"] == '"1"'
    stale = alice.put(f"/api/devices/{me}/zones", json=ZONES, headers={"if-match": "0"})
    assert stale.status_code == 409
    assert ack(webhook, me, 1, "applied")["applied"]
    assert not ack(webhook, me, 1, "applied")["applied"]  # duplicate ack: no-op
    shown = alice.get(f"/api/devices/{me}/zones").json()
    assert shown["applied_version"] == 1 and shown["config"]["sensitivity"] == 6
    second = dict(ZONES, sensitivity=9)
    assert (
        alice.put(f"/api/devices/{me}/zones", json=second, headers={"if-match": '"1"'}).status_code
        == 200
    )
    ack(webhook, me, 2, "rejected", error="zone 'door' overlaps 'desk'")
    shown = alice.get(f"/api/devices/{me}/zones").json()
    assert shown["applied_version"] == 1
    assert shown["last_rejection"] == {"version": 2, "error": "zone 'door' overlaps 'desk'"}
    rolled = alice.post(
        f"/api/devices/{me}/zones/rollback", json={"version": 1}, headers={"if-match": "2"}
    )
    assert rolled.status_code == 200 and rolled.json()["config"]["sensitivity"] == 6
    assert [v["version"] for v in rolled.json()["versions"]] == [3, 2, 1]


def test_invalid_zone_configs_are_422_with_the_path(owned) -> None:
    device, alice = owned
    bowtie = {
        "zones": [{"name": "x", "vertices": [[-500, 1000], [500, 2000], [500, 1000], [-500, 2000]]}]
    }
    response = alice.put(
        f"/api/devices/{device['device_id']}/zones", json=bowtie, headers={"if-match": "0"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_zone_config" and "zones.0.vertices" in body["message"]


def test_only_ten_versions_are_kept(owned) -> None:
    device, alice = owned
    me = device["device_id"]
    for version in range(12):
        config = dict(ZONES, hold_time_s=version)
        response = alice.put(
            f"/api/devices/{me}/zones", json=config, headers={"if-match": str(version)}
        )
        assert response.status_code == 200, response.text
    versions = [v["version"] for v in alice.get(f"/api/devices/{me}/zones").json()["versions"]]
    assert versions == list(range(12, 2, -1))


def test_device_reads_are_cached_and_writes_forget_them(owned, webhook) -> None:
    device, alice = owned
    me = device["device_id"]
    first, second = alice.get(f"/api/devices/{me}"), alice.get(f"/api/devices/{me}")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.json() == second.json()
    assert first.json()["online"] is False and first.json()["pending_config_version"] is None

    # A zone write shows at once (read-your-writes), then is cached again.
    assert alice.put(f"/api/devices/{me}/zones", json=ZONES, headers={"if-match": "0"}).is_success
    after_put = alice.get(f"/api/devices/{me}")
    assert after_put.headers["x-cache"] == "miss"
    assert after_put.json()["pending_config_version"] == 1
    assert alice.get(f"/api/devices/{me}").headers["x-cache"] == "hit"

    # Writes from the webhooks (another Worker) forget the cached view too.
    ack(webhook, me, 1, "applied")
    acked = alice.get(f"/api/devices/{me}").json()
    assert (acked["config_version"], acked["pending_config_version"]) == (1, None)
    t = int(time.time() * 1000)
    event = {"clientid": me, "username": me, "connected_at": t, "timestamp": t}
    assert webhook.post("/webhook/device-connected", json=event).json()["applied"]
    online = alice.get(f"/api/devices/{me}")
    assert online.headers["x-cache"] == "miss" and online.json()["online"] is True


@pytest.mark.parametrize("name", ["a\u0000b", "\u202eevil"])
def test_control_characters_never_reach_the_device(owned, name: str) -> None:
    device, alice = owned
    zone = {"name": name, "vertices": [[0, 1000], [500, 1000], [0, 2000]]}
    response = alice.put(
        f"/api/devices/{device['device_id']}/zones",
        json={"zones": [zone]},
        headers={"if-match": "0"},
    )
    assert response.status_code == 422
    assert "zones.0.name" in response.json()["message"]
