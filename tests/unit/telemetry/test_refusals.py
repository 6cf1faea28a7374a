"""Telemetry that can never be stored is refused (4xx, logged), never stored as opaque."""

import asyncio
import json

from rs1contract.topics import device_topic

from helpers import enroll_one, envelope
from rs1.apps.telemetry import build_app
from rs1.devices import store
from rs1.messages import ApiRequest

HEADERS = {"x-webhook-secret": "test-webhook-secret", "content-type": "application/json"}


def post(services, body) -> tuple[int, dict]:
    request = ApiRequest(
        "POST", "/webhook/telemetry", headers=HEADERS, body=json.dumps(body).encode()
    )
    response = asyncio.run(build_app().handle(request, services))
    return response.status, json.loads(response.body)


def rows(services) -> int:
    return asyncio.run(services.db.first("SELECT COUNT(*) AS n FROM telemetry_raw"))["n"]


def test_a_device_that_is_not_enrolled_is_refused_and_logged(services) -> None:
    status, body = post(services, envelope("f" * 32, "m-1"))
    assert (status, body["error"]) == (403, "unknown_device") and rows(services) == 0
    logged = asyncio.run(services.db.all("SELECT details FROM security_log"))
    assert "not enrolled" in logged[-1]["details"]


def test_in_a_batch_only_the_unknown_device_is_refused(services) -> None:
    me = enroll_one(services.db, "AA:BB:CC:00:07:01")
    status, body = post(services, [envelope("f" * 32, "m-1"), envelope(me, "m-2")])
    assert status == 200 and body["accepted"] == 1 and rows(services) == 1
    assert [(r["index"], r["error"]) for r in body["rejected"]] == [(0, "unknown_device")]


def test_unknown_kinds_are_refused(services) -> None:
    me = enroll_one(services.db, "AA:BB:CC:00:07:02")
    body = envelope(me, "m-3")
    body["topic"], body["payload"] = device_topic(me, "telemetry", "weather"), "{}"
    status, answer = post(services, body)
    assert (status, answer["error"]) == (400, "unknown_kind") and rows(services) == 0


def test_known_ids_survive_the_memo_starting_over(services, monkeypatch) -> None:
    """The per-isolate memo is bounded; when it starts over, no enrolled id drops out."""
    a = enroll_one(services.db, "AA:BB:CC:00:07:03")
    b = enroll_one(services.db, "AA:BB:CC:00:07:04")
    monkeypatch.setattr(store, "_KNOWN_MAX", 1)
    assert asyncio.run(store.known_device_ids(services.db, [a])) == {a}
    assert asyncio.run(store.known_device_ids(services.db, [a, b, "f" * 32])) == {a, b}
