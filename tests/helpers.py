"""Helpers shared by unit tests (importable as `helpers`; pytest puts tests/ on sys.path)."""

import asyncio
import base64
import json
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization
from rs1contract.topics import device_topic
from rs1fw.images import build_image
from rs1fw.signing import generate_keypair, sign_image

from rs1.devices.enrollment import EnrollItem, enroll
from rs1.services import HttpResult, Services
from rs1.settings import Settings
from rs1.storage.database import RunResult, Statement
from rs1.storage.memory import MemoryBlobs, MemoryKv
from rs1.storage.sqlite import SqliteDatabase

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "migrations"
T = TypeVar("T")
NOW = 1_795_000_000.0  # a fixed "now" (2026-11-18) for clock-dependent tests
# A rollout policy whose installs count at once: for tests about delivery, not health.
NO_SOAK = {"health": {"soak_minutes": 0}}


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def unit_services(db: SqliteDatabase, clock: Clock) -> Services:
    """The runtime-free services over CPython stand-ins for D1/KV/R2 (no outbound HTTP)."""
    settings = Settings(
        webhook_secret="test-webhook-secret",
        jwt_secret="test-jwt-secret-0123456789abcdef0123",
        device_master_key="test-master-key",
    )
    return Services(
        settings=settings,
        db=db,
        kv={n: MemoryKv(clock) for n in ("SESSIONS", "RS1_RATE_LIMITS", "RS1_CACHE")},
        blobs={"R2": MemoryBlobs()},
        clock=clock,
    )


def fresh_db() -> SqliteDatabase:
    database = SqliteDatabase()
    database.apply_migrations(MIGRATIONS)
    return database


def enroll_one(db: SqliteDatabase, mac: str) -> str:
    """Enrol one device straight into a unit test's database; its id."""

    result = asyncio.run(enroll(db, "test-master-key", [EnrollItem(mac)], False))
    return result.enrolled[0]["device_id"]


def random_mac() -> str:
    """A random locally administered MAC (integration tests share one database)."""
    return "02:" + ":".join(f"{b:02X}" for b in os.urandom(5))


@dataclass(frozen=True)
class FirmwareKeys:
    """A release-signing keypair made for this test session; the Workers get its public key."""

    private_pem: bytes
    public_b64: str

    @classmethod
    def generate(cls) -> "FirmwareKeys":
        return cls.from_private_pem(generate_keypair()[0])

    @classmethod
    def from_private_pem(cls, private: bytes) -> "FirmwareKeys":
        key = serialization.load_pem_private_key(private, password=None)
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private, base64.b64encode(der).decode())


def upload_firmware(
    admin: Any, keys: FirmwareKeys, model: str, version: str, size: int = 32 * 1024
) -> None:
    """A signed image of `size` bytes published as `model` `version` (PUT /admin/firmware)."""
    image = build_image(model, version, size)
    manifest = sign_image(image, keys.private_pem, model, version)
    header = base64.b64encode(manifest.model_dump_json().encode()).decode()
    response = admin.put(f"/admin/firmware/{model}/{version}", content=image,
                         headers={"x-rs1-manifest": header})  # fmt: skip
    assert response.status_code in (200, 201), response.text


FIRMWARE_KEYS = FirmwareKeys.generate()


def envelope(device_id: str, message_id: str, kind: str = "health", **payload_extra) -> dict:
    """One EMQX rule-engine delivery of a device's telemetry message, as EMQX posts it."""
    now = int(time.time() * 1000)
    payload = {
        "message_id": message_id,
        "ts": now,
        "uptime_s": 10,
        "free_heap": 100_000,
        "rssi": -55,
        "radar_ok": True,
        **payload_extra,
    }
    return {
        "id": f"emqx-{message_id}",
        "clientid": device_id,
        "username": device_id,
        "topic": device_topic(device_id, "telemetry", kind),
        "payload": json.dumps(payload),
        "qos": 1,
        "timestamp": now,
        "publish_received_at": now,
    }


class Interleaved:
    """A Database whose every statement first yields to the event loop a random number of
    times, so coroutines run with asyncio.gather interleave between any two statements, as
    concurrent requests to production's isolates do. (Plain SqliteDatabase never yields, so
    gather would run them one after another and hide every race.)"""

    def __init__(self, db: SqliteDatabase, rnd: random.Random) -> None:
        self.db = db
        self.rnd = rnd

    async def _yield(self) -> None:
        for _ in range(self.rnd.randint(0, 3)):
            await asyncio.sleep(0)

    async def all(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        await self._yield()
        return await self.db.all(sql, *params)

    async def first(self, sql: str, *params: Any) -> dict[str, Any] | None:
        await self._yield()
        return await self.db.first(sql, *params)

    async def run(self, sql: str, *params: Any) -> RunResult:
        await self._yield()
        return await self.db.run(sql, *params)

    async def batch(self, statements: Sequence[Statement]) -> list[list[dict[str, Any]]]:
        await self._yield()
        return await self.db.batch(statements)


def gather(*coros: Awaitable[T]) -> list[T | BaseException]:
    """Run coroutines at once; their results, or the exception each raised."""

    async def _all() -> list[T | BaseException]:
        return await asyncio.gather(*coros, return_exceptions=True)

    return asyncio.run(_all())


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls from as many threads, released together by a barrier (racing requests)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


class FakeEmqx:
    """Stands in for EMQX's HTTP publish API: records triggers; `subscribed` decides delivery."""

    def __init__(self) -> None:
        self.published: list[dict] = []
        self.subscribed = True

    async def request(self, method, url, headers, body=None) -> HttpResult:
        await asyncio.sleep(0)  # a network call yields, so concurrent webhooks interleave
        messages = json.loads(body)
        self.published += messages
        reason = {} if self.subscribed else {"reason_code": "no_matching_subscribers"}
        return HttpResult(200, json.dumps([{"id": "x", **reason} for _ in messages]).encode())


def query_trees(atoms, max_leaves: int):
    """Hypothesis: cohort-query ASTs (rs1.query) of `atoms` under not / and / or."""
    from hypothesis import strategies as st

    from rs1.query import Bool, Not

    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.builds(Not, inner),
            st.builds(lambda op, items: Bool(op, tuple(items)), st.sampled_from(["and", "or"]),
                      st.lists(inner, min_size=2, max_size=3)),
        ),
        max_leaves=max_leaves,
    )  # fmt: skip
