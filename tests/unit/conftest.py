"""Unit-test fixtures: the runtime-free app over CPython stand-ins for D1/KV/R2."""

from pathlib import Path

import pytest

from rs1.services import Services
from rs1.settings import Settings
from rs1.storage.memory import MemoryBlobs, MemoryKv
from rs1.storage.sqlite import SqliteDatabase

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@pytest.fixture
def db() -> SqliteDatabase:
    database = SqliteDatabase()
    database.apply_migrations(MIGRATIONS)
    return database


@pytest.fixture
def services(db: SqliteDatabase) -> Services:
    return Services(
        settings=Settings(webhook_secret="test-webhook-secret", jwt_secret="test-jwt-secret"),
        db=db,
        kv={"SESSIONS": MemoryKv()},
        blobs={"R2": MemoryBlobs()},
    )
