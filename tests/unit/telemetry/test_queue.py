"""The ingest queue: row bodies, sendBatch grouping, the consumer and the queued webhook."""

import asyncio
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rs1contract.topics import device_topic

from helpers import enroll_one
from rs1.errors import InvalidInput, Unavailable
from rs1.messages import ApiRequest
from rs1.storage.memory import MemoryQueue
from rs1.storage.queue import MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, METADATA_BYTES
from rs1.telemetry import store
from rs1.telemetry.consumer import Delivery, backoff, consume
from rs1.telemetry.ingest import RawRow, parse_envelope, to_row
from rs1.telemetry.queue import BINDING, decode_row, encode_row, sends
from rs1.webhooks.telemetry import telemetry

T0 = 491_000 * 3_600_000  # an hour boundary


def envelope(device: str, n: int, received_at: int) -> dict:
    payload = {"message_id": f"m-{n}", "ts": received_at, "uptime_s": n, "free_heap": 1,
               "rssi": -50, "radar_ok": True}  # fmt: skip
    return {"id": f"e-{n}", "clientid": device, "username": device, "qos": 1,
            "topic": device_topic(device, "telemetry", "health"), "payload": json.dumps(payload),
            "timestamp": received_at, "publish_received_at": received_at}  # fmt: skip


text = st.text(max_size=40)
rows = st.builds(
    RawRow,
    device_id=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    message_id=st.text(min_size=1, max_size=64),
    kind=text,
    topic=text,
    ts=st.integers(0, 10**13),
    received_at=st.integers(0, 10**13),
    payload=text,
)


@given(rows)
def test_a_row_survives_the_queue_unchanged(row: RawRow) -> None:
    assert decode_row(encode_row(row)) == row


@given(st.one_of(st.text(), st.binary(), st.integers(), st.none(), st.dictionaries(text, text)))
def test_anything_else_is_refused_as_invalid_input(body) -> None:
    try:
        decode_row(body)
    except InvalidInput as err:
        assert err.code == "invalid_message"


def test_a_row_with_a_wrong_field_type_is_refused() -> None:
    data = json.loads(encode_row(RawRow("a" * 32, "m", "health", "t", 1, 2, "{}")))
    for field, value in (("ts", "1"), ("ts", True), ("payload", None), ("v", 2)):
        with pytest.raises(InvalidInput):
            decode_row(json.dumps({**data, field: value}))


@settings(max_examples=50)
@given(st.lists(st.integers(1, 40_000), max_size=300))
def test_sends_respect_cloudflare_limits_and_keep_order(sizes: list[int]) -> None:
    bodies = [str(i % 10) * size for i, size in enumerate(sizes)]
    groups = list(sends(bodies))
    assert [b for g in groups for b in g] == bodies
    for group in groups:
        assert 1 <= len(group) <= MAX_BATCH_MESSAGES
        assert sum(len(b.encode()) + METADATA_BYTES for b in group) <= MAX_BATCH_BYTES


def queued(services, count: int) -> list[Delivery]:
    device = enroll_one(services.db, "AA:BB:CC:00:00:01")
    bodies = [encode_row(to_row(parse_envelope(envelope(device, n, T0 + n)))) for n in range(count)]
    return [Delivery(f"m{n}", body, 1) for n, body in enumerate(bodies)]


def raw_rows(services) -> list[dict]:
    return asyncio.run(services.db.all("SELECT * FROM telemetry_raw ORDER BY message_id"))


def test_redelivered_and_shuffled_batches_store_each_row_once(services) -> None:
    deliveries = queued(services, 30)
    once = asyncio.run(consume(deliveries, services))
    assert once.stored == 30 and not once.retry and not once.retry_all
    expected = raw_rows(services)
    replay = deliveries * 2
    random.Random(7).shuffle(replay)
    for start in range(0, len(replay), 17):
        asyncio.run(consume(replay[start : start + 17], services))
    assert raw_rows(services) == expected
    markers = asyncio.run(services.db.all("SELECT DISTINCT device_id, hour FROM telemetry_dirty"))
    assert len(markers) == 1  # one device, one hour: bookkept per batch, not per message


def test_an_unreadable_message_is_retried_and_the_rest_stored(services) -> None:
    deliveries = [*queued(services, 3), Delivery("bad", "not json", 4)]
    outcome = asyncio.run(consume(deliveries, services))
    assert outcome.retry == ["bad"] and outcome.stored == 3 and not outcome.retry_all
    assert len(raw_rows(services)) == 3


def test_a_storage_failure_retries_the_whole_batch_later(services, monkeypatch) -> None:
    deliveries = queued(services, 3)

    async def broken(*_args):
        from rs1.storage.database import StorageError

        raise StorageError("D1_ERROR: database is locked")

    monkeypatch.setattr(store, "store_rows", broken)
    outcome = asyncio.run(consume(deliveries, services))
    assert outcome.retry_all and outcome.delay_s == backoff(1) and outcome.stored == 0


def test_backoff_grows_and_is_bounded() -> None:
    delays = [backoff(n) for n in range(1, 20)]
    assert delays == sorted(delays) and delays[0] >= 1 and max(delays) <= 300


def post(services, body) -> dict:
    headers = {"content-type": "application/json"}
    request = ApiRequest(
        "POST", "/webhook/telemetry", headers=headers, body=json.dumps(body).encode()
    )
    return json.loads(asyncio.run(telemetry(request, services)).body)


def test_the_webhook_queues_rows_and_stores_nothing_itself(services) -> None:
    device = enroll_one(services.db, "AA:BB:CC:00:00:01")
    queue = services.queues[BINDING] = MemoryQueue()
    assert post(services, envelope(device, 1, T0))["accepted"] == 1
    assert post(services, [envelope(device, n, T0 + n) for n in range(2, 150)])["accepted"] == 148
    assert len(queue.bodies) == 149 and len(raw_rows(services)) == 0
    assert [len(batch) for batch in queue.sent] == [1, 100, 48]
    asyncio.run(consume([Delivery(str(i), b, 1) for i, b in enumerate(queue.bodies)], services))
    assert len(raw_rows(services)) == 149


def test_a_refused_enqueue_is_a_503_for_emqx_to_retry(services) -> None:
    device = enroll_one(services.db, "AA:BB:CC:00:00:01")
    queue = services.queues[BINDING] = MemoryQueue()
    queue.failing = True
    with pytest.raises(Unavailable):
        post(services, envelope(device, 1, T0))


def test_unbound_the_webhook_stores_in_the_request(services) -> None:
    device = enroll_one(services.db, "AA:BB:CC:00:00:01")
    assert post(services, envelope(device, 1, T0))["accepted"] == 1
    assert len(raw_rows(services)) == 1


def test_a_row_that_keeps_failing_is_retried_alone_on_the_next_attempt(services, monkeypatch):
    deliveries = [Delivery(d.id, d.body, 2) for d in queued(services, 5)]  # failed once before
    poison = decode_row(deliveries[2].body).message_id
    real = store.store_rows

    async def refuses_one(shards, rows):
        if any(r.message_id == poison for r in rows):
            from rs1.storage.database import StorageError

            raise StorageError("D1_ERROR: string or blob too big: SQLITE_TOOBIG")
        await real(shards, rows)

    monkeypatch.setattr(store, "store_rows", refuses_one)
    outcome = asyncio.run(consume(deliveries, services))
    assert outcome.retry == [deliveries[2].id] and outcome.stored == 4 and not outcome.retry_all
    assert outcome.delay_s == backoff(2)
    assert len(raw_rows(services)) == 4


def test_inserts_stay_under_d1s_value_limit_whatever_the_payloads() -> None:
    worst = json.dumps({"result": "\U0001f600" * 4096})  # escaped, then escaped again
    rows = [RawRow("a" * 32, f"m{i}", "diag", "t", 1, 2, worst) for i in range(100)]
    inserts = [s for s in store.shard_statements(rows) if "telemetry_raw" in s.sql]
    assert len(inserts) > 1
    assert all(len(s.params[0].encode()) <= store.INSERT_BYTES < 2_000_000 for s in inserts)
    assert sum(len(json.loads(s.params[0])) for s in inserts) == 100
