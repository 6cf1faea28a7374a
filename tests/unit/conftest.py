"""Unit-test fixtures: the runtime-free app over CPython stand-ins for D1/KV/R2."""

import pytest

from helpers import Clock, fresh_db
from rs1.services import Services
from rs1.settings import Settings
from rs1.storage.memory import MemoryBlobs, MemoryKv
from rs1.storage.sqlite import SqliteDatabase


@pytest.fixture
def db() -> SqliteDatabase:
    return fresh_db()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(db: SqliteDatabase, clock: Clock) -> Services:
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
