"""/webhook/telemetry over HTTP: exactly once, batches, bad input, mismatched publishers."""

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rs1contract.topics import device_topic

from helpers import envelope


@pytest.fixture
def stored(admin: httpx.Client, drained):
    """Raw rows stored for a device once the ingest queue has drained, read back through the
    user API (admins read any)."""

    def _stored(device_id: str) -> int:
        drained()
        return count_rows(admin, device_id)

    return _stored


def count_rows(admin: httpx.Client, device_id: str) -> int:
    count, cursor = 0, None
    while True:
        params = {"limit": 1000, "from": 0, **({"cursor": cursor} if cursor else {})}
        response = admin.get(f"/api/devices/{device_id}/telemetry", params=params)
        assert response.status_code == 200, response.text
        count += len(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if not cursor:
            return count


def test_retries_and_duplicates_store_once(webhook, stored, enroll) -> None:
    me = enroll()["device_id"]
    batch = [envelope(me, f"m-{i}") for i in range(100)]
    first = webhook.post("/webhook/telemetry", json=batch)
    assert first.status_code == 200 and first.json() == {"accepted": 100, "rejected": []}
    for e in batch[:10]:  # EMQX retries single deliveries
        assert webhook.post("/webhook/telemetry", json=e).status_code == 200
    assert webhook.post("/webhook/telemetry", json=list(reversed(batch))).status_code == 200
    assert stored(me) == 100


def test_single_bad_envelope_is_400_and_stores_nothing(webhook, stored, enroll) -> None:
    me = enroll()["device_id"]
    bad = envelope(me, "x-1", rssi=5)  # rssi must be <= 0
    response = webhook.post("/webhook/telemetry", json=bad)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_payload" and "rssi" in body["message"]
    assert stored(me) == 0


def test_batch_stores_valid_and_lists_rejected(webhook, stored, enroll) -> None:
    me = enroll()["device_id"]
    batch = [envelope(me, "ok-1"), envelope(me, "bad", free_heap=-1), envelope(me, "ok-2")]
    response = webhook.post("/webhook/telemetry", json=batch)
    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert [r["index"] for r in response.json()["rejected"]] == [1]
    assert stored(me) == 2


def test_publisher_must_own_the_topic(webhook, stored, enroll) -> None:
    me, other = enroll()["device_id"], enroll()["device_id"]
    forged = envelope(other, "forged-1")
    forged["username"] = forged["clientid"] = me
    response = webhook.post("/webhook/telemetry", json=forged)
    assert response.status_code == 403 and response.json()["error"] == "topic_mismatch"
    assert stored(other) == 0


fuzz_payloads = st.one_of(
    st.text(max_size=60),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.dictionaries(st.text(max_size=12), inner, max_size=5),
        max_leaves=10,
    ).map(json.dumps),
)


def test_fuzzed_payloads_never_500_and_never_store_invalid_rows(
    webhook, stored, enroll_once
) -> None:
    """Every refused payload is refused whole: once the queue drained, the device holds one
    row per message id that was accepted, and nothing else."""
    me = enroll_once
    accepted: set[str] = set()

    @settings(max_examples=40, deadline=None)
    @given(payload=fuzz_payloads, kind=st.sampled_from(["targets", "presence", "health", "x/y"]))
    def deliver(payload: str, kind: str) -> None:
        body = envelope(me, "fuzz")
        body["payload"], body["topic"] = payload, device_topic(me, "telemetry", kind)
        body["id"] = f"fuzz-{len(accepted)}-{hash(payload) & 0xFFFF}"
        response = webhook.post("/webhook/telemetry", json=body)
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            data = json.loads(payload)
            assert isinstance(data, dict)
            accepted.add(data.get("message_id") or body["id"])

    deliver()
    assert stored(me) == len(accepted)


def test_telemetry_of_a_device_that_is_not_enrolled_is_refused(webhook, admin, enroll) -> None:
    ghost = "f" * 32  # a well-formed id nobody enrolled
    response = webhook.post("/webhook/telemetry", json=envelope(ghost, "g-1"))
    assert response.status_code == 403 and response.json()["error"] == "unknown_device"
    me = enroll()["device_id"]
    batch = [envelope(me, "k-1"), envelope(ghost, "g-2")]
    answer = webhook.post("/webhook/telemetry", json=batch).json()
    assert answer["accepted"] == 1
    assert [(r["index"], r["error"]) for r in answer["rejected"]] == [(1, "unknown_device")]


@pytest.mark.parametrize("kind", ["weather", "health/extra"])
def test_unknown_telemetry_kinds_are_refused(webhook, stored, enroll, kind: str) -> None:
    me = enroll()["device_id"]
    body = envelope(me, "u-1")
    body["topic"] = device_topic(me, "telemetry", *kind.split("/"))
    body["payload"] = "{}"
    response = webhook.post("/webhook/telemetry", json=body)
    assert response.status_code == 400 and response.json()["error"] == "unknown_kind"
    assert "health" in response.json()["message"]  # says which kinds exist
    assert stored(me) == 0
