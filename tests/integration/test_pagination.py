"""Every paginated route, paged to the end at every page size, gives exactly the unpaged read.

Routes: GET /api/devices (cursor), GET /admin/devices (after), and
GET /api/devices/{id}/telemetry (cursor) at both resolutions, raw and hour.
"""

import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import envelope, random_mac
from rs1.identity.claim import claim_code

HOUR_MS = 3_600_000
EXAMPLES = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
sizes = st.integers(min_value=1, max_value=16)


def page_through(
    get: Callable[[dict], httpx.Response], params: dict, key: str, next_key: str, cursor_key: str
) -> list:
    """Follow next_* to the end; every page is 200, none is empty but a first one."""
    items: list = []
    cursor = None
    for _ in range(1_000):
        response = get({**params, **({cursor_key: cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page[key]) <= params["limit"]
        assert page[key] or not items, "a cursor led to an empty page"
        items += page[key]
        cursor = page[next_key]
        if cursor is None:
            return items
    raise AssertionError("pages never ended")


@pytest.fixture(scope="module")
def owner(as_user, admin) -> tuple[httpx.Client, str, list[str]]:
    """A user who owns 11 devices (admins page the same ones with ?owner=)."""
    sub = f"pager-{uuid.uuid4().hex[:8]}"
    client = as_user(sub)
    ids = []
    for _ in range(11):
        device = admin.post("/admin/devices", json={"mac_address": random_mac()}).json()
        body = {"device_id": device["device_id"], "claim_code": claim_code(device["device_secret"])}
        assert client.post("/api/devices/claim", json=body).status_code == 201
        ids.append(device["device_id"])
    return client, sub, sorted(ids)


@given(limit=sizes)
@EXAMPLES
def test_my_devices_paged_equal_unpaged(owner, limit: int) -> None:
    client, _, ids = owner
    whole = client.get("/api/devices", params={"limit": 500}).json()
    assert whole["next_cursor"] is None and [d["device_id"] for d in whole["devices"]] == ids
    paged = page_through(
        lambda p: client.get("/api/devices", params=p),
        {"limit": limit},
        "devices",
        "next_cursor",
        "cursor",
    )
    assert paged == whole["devices"]


@given(limit=sizes)
@EXAMPLES
def test_admin_search_paged_equal_unpaged(owner, admin, limit: int) -> None:
    _, sub, ids = owner
    whole = admin.get("/admin/devices", params={"owner": sub, "limit": 1000}).json()
    assert [d["device_id"] for d in whole["devices"]] == ids
    paged = page_through(
        lambda p: admin.get("/admin/devices", params=p),
        {"owner": sub, "limit": limit},
        "devices",
        "next_after",
        "after",
    )
    assert paged == whole["devices"]


@pytest.fixture(scope="module")
def history(webhook, telemetry, admin, drained) -> str:
    """A device with 20 raw rows over 5 past hours (some sharing a receive time, so pages
    must break ties by message id), rolled up by the hourly cron."""
    me = admin.post("/admin/devices", json={"mac_address": random_mac()}).json()["device_id"]
    base = (int(time.time() * 1000) // HOUR_MS - 6) * HOUR_MS
    batch = []
    for i in range(20):
        e = envelope(me, f"h-{i:02d}")
        received = base + (i % 5) * HOUR_MS + (i // 10) * 1000  # pairs share a receive time
        e["publish_received_at"] = e["timestamp"] = received
        batch.append(e)
    assert webhook.post("/webhook/telemetry", json=batch).json()["accepted"] == 20
    drained()
    cron = telemetry.get("/cdn-cgi/local/scheduled", params={"cron": "0 * * * *"})
    assert cron.status_code == 200
    return me


@pytest.mark.parametrize("resolution,count", [("raw", 20), ("hour", 5)])
def test_telemetry_unpaged_read_is_whole(admin, history, resolution: str, count: int) -> None:
    params = {"from": 0, "limit": 1000, "resolution": resolution}
    whole = admin.get(f"/api/devices/{history}/telemetry", params=params).json()
    assert len(whole["items"]) == count and whole["next_cursor"] is None


@given(limit=sizes, resolution=st.sampled_from(["raw", "hour"]))
@EXAMPLES
def test_telemetry_paged_equal_unpaged(admin, history, limit: int, resolution: str) -> None:
    url = f"/api/devices/{history}/telemetry"
    base = {"from": 0, "resolution": resolution}
    whole = admin.get(url, params={**base, "limit": 1000}).json()["items"]
    paged = page_through(
        lambda p: admin.get(url, params=p),
        {**base, "limit": limit},
        "items",
        "next_cursor",
        "cursor",
    )
    assert paged == whole


def test_a_cursor_from_another_route_is_a_400(admin, history, owner) -> None:
    client, _, _ = owner
    device_cursor = client.get("/api/devices", params={"limit": 1}).json()["next_cursor"]
    response = admin.get(
        f"/api/devices/{history}/telemetry", params={"from": 0, "cursor": device_cursor}
    )
    assert response.status_code == 400 and response.json()["error"] == "bad_request"
