"""Frames built from stored rows, and one device's room of watchers (rs1.live)."""

import asyncio
import json

from hypothesis import given
from hypothesis import strategies as st

from rs1.live.frames import frame, hello, targets_by_device, valid_frames
from rs1.live.protocol import PROTOCOL
from rs1.live.room import RecentIds, Room, marker_key
from rs1.storage.database import StorageError
from rs1.storage.memory import MemoryKv
from rs1.telemetry.ingest import RawRow

DEV_A, DEV_B = "a" * 32, "b" * 32
TARGET = {"id": 1, "x_mm": -120, "y_mm": 1800, "speed_mm_s": 0, "distance_mm": 1804}


def row(device_id: str, message_id: str, kind: str = "targets", ts: int = 1_000) -> RawRow:
    payload = {"message_id": message_id, "ts": ts}
    if kind == "targets":
        payload["targets"] = [TARGET]
    topic = f"opticworks/{device_id}/telemetry/{kind}"
    return RawRow(device_id, message_id, kind, topic, ts, ts + 42, json.dumps(payload))


def run(coro):
    return asyncio.run(coro)


def test_only_targets_rows_are_grouped_per_device_in_order_without_copies() -> None:
    rows = [
        row(DEV_A, "a-1"),
        row(DEV_A, "a-2", "presence"),
        row(DEV_B, "b-1"),
        row(DEV_A, "a-1"),  # redelivered within the batch
        row(DEV_A, "a-3"),
    ]
    grouped = targets_by_device(rows)
    assert {d: [r.message_id for r in rs] for d, rs in grouped.items()} == {
        DEV_A: ["a-1", "a-3"],
        DEV_B: ["b-1"],
    }


def test_a_frame_carries_the_device_targets_and_both_clocks() -> None:
    assert frame(row(DEV_A, "a-1", ts=5)) == {
        "type": "targets",
        "device_id": DEV_A,
        "message_id": "a-1",
        "ts": 5,
        "received_at": 47,
        "targets": [TARGET],
    }
    assert json.loads(hello(DEV_A, 2)) == {
        "type": "hello",
        "protocol": PROTOCOL,
        "device_id": DEV_A,
        "watchers": 2,
    }


def test_a_publish_body_keeps_only_this_device_frames() -> None:
    good = frame(row(DEV_A, "a-1"))
    body = {
        "frames": [good, frame(row(DEV_B, "b-1")), {"type": "x"}, "junk", {**good, "message_id": 1}]
    }
    assert valid_frames(body, DEV_A) == [good]
    assert valid_frames(["not", "a", "dict"], DEV_A) == []


@given(st.lists(st.text(min_size=1, max_size=4), max_size=60), st.integers(1, 10))
def test_recent_ids_admit_each_id_once_within_the_window(ids: list[str], size: int) -> None:
    recent = RecentIds(size)
    window: list[str] = []
    for message_id in ids:
        assert recent.add(message_id) is (message_id not in window)
        if message_id not in window:
            window = (window + [message_id])[-size:]
        assert len(recent) <= size


class FakeSocket:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict] = []
        self.fail = fail

    def send(self, text: str) -> None:
        if self.fail:
            raise RuntimeError("closed")
        self.sent.append(json.loads(text))


class Sockets:
    def __init__(self) -> None:
        self.open: list[FakeSocket] = []

    def __call__(self) -> list[FakeSocket]:
        return list(self.open)


def test_watchers_get_each_frame_once_and_the_marker_follows_them(clock) -> None:
    kv, sockets = MemoryKv(clock), Sockets()
    room = Room(kv, sockets)
    first, second = FakeSocket(), FakeSocket()
    sockets.open.append(first)
    assert json.loads(room.greeting(DEV_A))["watchers"] == 1
    run(room.joined(DEV_A))
    assert run(kv.get(marker_key(DEV_A))) is not None
    sockets.open.append(second)
    run(room.joined(DEV_A))

    frames = [frame(row(DEV_A, f"a-{i}")) for i in range(3)]
    assert run(room.publish(DEV_A, frames)) == 3
    assert run(room.publish(DEV_A, frames[1:])) == 0  # redelivered: nobody sees it twice
    assert [f["message_id"] for f in first.sent] == ["a-0", "a-1", "a-2"]
    assert second.sent == first.sent

    sockets.open.remove(first)
    run(room.left(DEV_A, sockets()))
    assert run(kv.get(marker_key(DEV_A))) is not None  # the second one still watches
    sockets.open.clear()
    run(room.left(DEV_A, []))
    assert run(kv.get(marker_key(DEV_A))) is None


def test_a_failing_socket_does_not_starve_the_others(clock) -> None:
    sockets = Sockets()
    good = FakeSocket()
    sockets.open += [FakeSocket(fail=True), good]
    room = Room(MemoryKv(clock), sockets)
    assert run(room.publish(DEV_A, [frame(row(DEV_A, "a-1"))])) == 1
    assert [f["message_id"] for f in good.sent] == ["a-1"]


def test_a_publish_nobody_hears_clears_a_stale_marker_once(clock) -> None:
    class CountingKv(MemoryKv):
        deletes = 0

        async def delete(self, key: str) -> None:
            CountingKv.deletes += 1
            await super().delete(key)

    kv = CountingKv(clock)
    run(kv.put(marker_key(DEV_A), "1"))  # left by an object that was reset
    room = Room(kv, Sockets())
    assert run(room.publish(DEV_A, [frame(row(DEV_A, "a-1"))])) == 0
    assert run(kv.get(marker_key(DEV_A))) is None
    run(room.publish(DEV_A, [frame(row(DEV_A, "a-2"))]))
    assert CountingKv.deletes == 1  # later stragglers cost no KV write


def test_a_watcher_joining_during_the_delete_keeps_the_marker(clock) -> None:
    sockets = Sockets()

    class RacingKv(MemoryKv):
        async def delete(self, key: str) -> None:
            await super().delete(key)
            sockets.open.append(FakeSocket())  # joined while the delete was in flight

    kv = RacingKv(clock)
    room = Room(kv, sockets)
    run(room.left(DEV_A, []))
    assert run(kv.get(marker_key(DEV_A))) is not None


def test_kv_failures_are_logged_not_raised(clock, capsys) -> None:
    class BrokenKv(MemoryKv):
        async def put(self, key: str, value: str, ttl: int | None = None) -> None:
            raise StorageError("kv down")

        async def delete(self, key: str) -> None:
            raise StorageError("kv down")

    sockets = Sockets()
    sockets.open.append(FakeSocket())
    room = Room(BrokenKv(clock), sockets)
    assert json.loads(room.greeting(DEV_A))["type"] == "hello"
    run(room.joined(DEV_A))  # a KV failure is logged, never raised
    run(room.left(DEV_A, []))
    assert "live_marker_failed" in capsys.readouterr().err


def test_without_a_cache_binding_the_room_still_broadcasts() -> None:
    sockets = Sockets()
    sockets.open.append(FakeSocket())
    room = Room(None, sockets)
    run(room.joined(DEV_A))
    assert run(room.publish(DEV_A, [frame(row(DEV_A, "a-1"))])) == 1
