"""Cohort queries over HTTP (issue 17): `GET /admin/devices?q=` filters the registry and
answers a bad query with 400 invalid_query; `POST /admin/devices/bulk` tags, revokes and
dry-runs over what a query matches. Each test works on devices of its own fresh model, so
the shared registry of the session does not disturb it."""

import uuid

import httpx
import pytest


def model_name() -> str:
    return "Q" + uuid.uuid4().hex[:8]


def ids(admin: httpx.Client, query: str, **params) -> list[str]:
    response = admin.get("/admin/devices", params={"q": query, **params})
    assert response.status_code == 200, response.text
    return [d["device_id"] for d in response.json()["devices"]]


def bulk(admin: httpx.Client, query: str, action: str, **body) -> httpx.Response:
    return admin.post("/admin/devices/bulk", json={"query": query, "action": action, **body})


@pytest.fixture
def fleet(enroll) -> tuple[str, list[str]]:
    """A fresh model and three of its devices, by id."""
    model = model_name()
    return model, sorted(enroll(model=model)["device_id"] for _ in range(3))


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("version < and", "at character 11"),
        ("tag:Site = berlin", "at character 5"),
        ("rssi > loud", "at character 8"),
        ("(online", "at character 8"),
        ('model = "unterminated', "at character 9"),
    ],
)
def test_a_bad_query_is_400_invalid_query_naming_the_position(
    admin: httpx.Client, query: str, where: str
) -> None:
    response = admin.get("/admin/devices", params={"q": query})
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) >= {"error", "message", "request_id"}
    assert body["error"] == "invalid_query"
    assert where in body["message"]


def test_a_bad_query_in_a_bulk_call_is_400_too(admin: httpx.Client) -> None:
    response = bulk(admin, "online and", "tag", tags={"set": {"ring": "x"}})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_query"


def test_a_query_filters_and_pages(admin: httpx.Client, fleet) -> None:
    model, devices = fleet
    assert ids(admin, f"model = {model}") == devices
    assert ids(admin, f'model = "{model}" and offline and status = active') == devices
    assert ids(admin, f"model = {model} and online") == []
    assert ids(admin, f"model = {model} and not (rssi > -75)") == devices  # unknown RSSI
    assert ids(admin, f"model = {model} and seen > 1d") == devices  # never seen
    assert ids(admin, f"model = {model} and id = {devices[1]}") == [devices[1]]
    first = admin.get("/admin/devices", params={"q": f"model = {model}", "limit": 2}).json()
    assert [d["device_id"] for d in first["devices"]] == devices[:2]
    assert first["next_after"] == devices[1]
    rest = ids(admin, f"model = {model}", after=first["next_after"])
    assert rest == devices[2:]


def test_the_other_filters_still_work_without_q(admin: httpx.Client, fleet) -> None:
    _, devices = fleet
    response = admin.get("/admin/devices", params={"online": "false", "after": devices[0]})
    assert response.status_code == 200, response.text
    assert devices[1] in [d["device_id"] for d in response.json()["devices"]]


def test_bulk_tag_then_query_by_the_tag(admin: httpx.Client, fleet) -> None:
    model, devices = fleet
    site = "s" + uuid.uuid4().hex[:8]
    target = f"model = {model} and not id = {devices[0]}"
    response = bulk(admin, target, "tag", tags={"set": {"site": site, "ring": "early"}})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["matched"] == 2 and answer["applied"] == 2
    assert answer["device_ids"] == devices[1:]
    assert ids(admin, f"tag:site = {site}") == devices[1:]
    assert ids(admin, f"model = {model} and tag:site != {site}") == devices[:1]
    assert ids(admin, f"tag:site in (nowhere, {site}) and tag:ring") == devices[1:]
    removed = bulk(admin, f"tag:site = {site}", "tag", tags={"remove": ["ring"]})
    assert removed.status_code == 200, removed.text
    assert ids(admin, f"model = {model} and tag:ring") == []
    assert ids(admin, f"tag:site = {site}") == devices[1:]


def test_a_dry_run_reports_the_match_and_changes_nothing(admin: httpx.Client, fleet) -> None:
    model, devices = fleet
    site = "s" + uuid.uuid4().hex[:8]
    tagged = bulk(admin, f"model = {model}", "tag", tags={"set": {"site": site}}, dry_run=True)
    assert tagged.status_code == 200, tagged.text
    assert tagged.json()["matched"] == 3 and tagged.json()["applied"] == 0
    assert tagged.json()["device_ids"] == devices
    assert ids(admin, f"tag:site = {site}") == []
    revoked = bulk(admin, f"model = {model}", "revoke", dry_run=True)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["matched"] == 3 and revoked.json()["applied"] == 0
    assert ids(admin, f"model = {model} and status = revoked") == []


def test_bulk_revoke_revokes_what_the_query_matches(admin: httpx.Client, fleet) -> None:
    model, devices = fleet
    response = bulk(admin, f"model = {model} and id = {devices[2]}", "revoke")
    assert response.status_code == 200, response.text
    assert response.json()["matched"] == 1 and response.json()["applied"] == 1
    assert ids(admin, f"model = {model} and status = revoked") == devices[2:]
    assert ids(admin, f"model = {model} and status = active") == devices[:2]
    assert ids(admin, f"model = {model}") == devices  # revoked ones still match
    shown = admin.get(f"/admin/devices/{devices[2]}").json()
    assert shown["status"] == "revoked"
