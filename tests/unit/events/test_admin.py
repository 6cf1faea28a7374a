"""The events admin API through the app: the secret shown once and audited never, endpoint
changes, the event log's pages, deliveries, attempts and redelivery."""

import asyncio
import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import Clock, fresh_db, unit_services
from rs1.apps.device_api import build_app
from rs1.events import signing
from rs1.events.delivery import run_deliveries
from rs1.http.cursors import encode_cursor
from rs1.identity import api_key_store
from rs1.identity.api_keys import new_key
from rs1.messages import ApiRequest
from rs1.outbox.store import NewEvent, statements
from rs1.services import HttpResult

APP = build_app()
SECRET = "events-admin-secret"
HOOK = {"url": "https://hooks.example.com/rs1", "event_types": ["device.online"]}


def run(coro):
    return asyncio.run(coro)


class Refusing:
    async def request(self, method, url, headers, body=None) -> HttpResult:
        return HttpResult(503, b"")


class Api:
    def __init__(self, events_secret: str = SECRET) -> None:
        clock = Clock(1_795_000_000.0)
        svc = unit_services(fresh_db(), clock)
        settings = replace(svc.settings, events_secret=events_secret, api_rate_limit=10**9)
        self.svc, self.clock = replace(svc, settings=settings, http=Refusing()), clock
        made = new_key()
        run(api_key_store.insert(self.svc.db, made.key_id, "t", made.secret_hash,
                                 ["events:read", "events:write", "audit:read"], "admin",
                                 f"apikey:{made.key_id}", "ops", "2026-01-01T00:00:00.000Z",
                                 None))  # fmt: skip
        self.key = made.key

    def call(self, method: str, path: str, body=None, **query):
        headers = {"authorization": f"Bearer {self.key}", "content-type": "application/json"}
        raw = b"" if body is None else json.dumps(body).encode()
        request = ApiRequest(method, path, urlencode(query), headers=headers, body=raw,
                             request_id="t")  # fmt: skip
        response = run(APP.handle(request, self.svc))
        return response.status, json.loads(response.body) if response.body else None

    def emit(self, count: int) -> list[str]:
        base = int(self.clock() * 1000)
        events = [NewEvent("device.online", f"k{n}", {"n": n}, base + n, "1") for n in range(count)]
        run(self.svc.db.batch(statements(events)))
        return [e.id for e in events]


def test_the_secret_is_shown_on_creation_only_and_never_audited() -> None:
    api = Api()
    status, created = api.call("POST", "/admin/events/endpoints", HOOK)
    assert status == 201 and created["endpoint_id"].startswith("ep_")
    assert created["secret"] == signing.endpoint_secret(SECRET, created["endpoint_id"])
    status, listed = api.call("GET", "/admin/events/endpoints")
    assert "secret" not in listed["endpoints"][0] and listed["endpoints"][0]["enabled"] is True
    record = run(api.svc.db.first("SELECT * FROM audit_log WHERE action = ?",
                                  "events.endpoint.create"))  # fmt: skip
    assert record is not None and record["target_id"] == created["endpoint_id"]
    assert created["secret"] not in record["summary"]


def test_an_invalid_endpoint_is_refused_and_no_secret_means_unavailable() -> None:
    api = Api()
    status, answer = api.call("POST", "/admin/events/endpoints", {**HOOK, "url": "http://x.io/"})
    assert status == 422 and answer["error"] == "invalid_endpoint"
    status, _ = Api("").call("POST", "/admin/events/endpoints", HOOK)
    assert status == 503


def test_re_enabling_clears_the_failures_and_deleting_hides_the_endpoint() -> None:
    api = Api()
    endpoint_id = api.call("POST", "/admin/events/endpoints", HOOK)[1]["endpoint_id"]
    path = f"/admin/events/endpoints/{endpoint_id}"
    api.emit(3)
    run(run_deliveries(api.svc, int(api.clock() * 1000) + 10))
    assert api.call("GET", "/admin/events/endpoints")[1]["endpoints"][0]["consecutive_failures"]
    status, off = api.call("PATCH", path, {"enabled": False, "description": "paused"})
    assert status == 200 and off["enabled"] is False and off["description"] == "paused"
    status, on = api.call("PATCH", path, {"enabled": True})
    assert on["consecutive_failures"] == 0 and on["disabled_reason"] is None
    assert api.call("DELETE", path)[0] == 204
    assert api.call("PATCH", path, {"enabled": True})[0] == 404
    assert api.call("GET", "/admin/events/endpoints")[1]["endpoints"] == []
    dead = api.call("GET", "/admin/events/deliveries", status="dead")[1]["deliveries"]
    assert len(dead) == 3


def test_the_event_log_pages_newest_first_and_a_delivery_shows_its_attempts() -> None:
    api = Api()
    endpoint_id = api.call("POST", "/admin/events/endpoints", HOOK)[1]["endpoint_id"]
    ids = api.emit(5)
    seen, cursor = [], None
    while True:
        page = api.call("GET", "/admin/events", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in page[1]["events"]]
        cursor = page[1]["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    run(run_deliveries(api.svc, int(api.clock() * 1000) + 10))
    (first,) = api.call("GET", "/admin/events/deliveries", event_id=ids[0])[1]["deliveries"]
    assert first["endpoint_id"] == endpoint_id and first["last_status"] == 503
    assert first["next_attempt_at"] is not None and first["attempts"] == 1
    attempts = api.call("GET", f"/admin/events/deliveries/{first['delivery_id']}/attempts")
    assert [a["status"] for a in attempts[1]["attempts"]] == [503]
    assert api.call("GET", "/admin/events/deliveries", cursor="!!")[0] == 400
    status, again = api.call("POST", f"/admin/events/{ids[0]}/redeliver")
    assert status == 202 and again["deliveries"] == [first["delivery_id"]]
    assert api.call("POST", "/admin/events/evt_unknown/redeliver")[0] == 404


API = Api()


@settings(max_examples=60, deadline=None)
@given(since=st.one_of(st.text(max_size=30), st.integers(min_value=-1).map(str)))
def test_any_since_is_a_page_or_a_400_and_only_bindable_numbers_pass(since: str) -> None:
    status, body = API.call("GET", "/admin/events", since=since)
    bindable = since.isascii() and since.isdigit() and int(since) <= 10**13
    assert status == (200 if bindable or since == "" else 400), body


@pytest.mark.parametrize("position", [[2**63, "e"], [10**13 + 1, "e"], [True, "e"], [-1, "e"]])
def test_a_cursor_with_a_number_d1_cannot_bind_is_a_400(position: list) -> None:
    status, body = API.call("GET", "/admin/events", cursor=encode_cursor(position))
    assert status == 400 and body["error"] == "bad_request", body
    assert API.call("GET", "/admin/audit", cursor=encode_cursor(position[0]))[0] == 400
