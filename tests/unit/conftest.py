"""Unit-test fixtures: the runtime-free app over CPython stand-ins for D1/KV/R2."""

import pytest

from helpers import Clock, fresh_db, unit_services
from rs1.services import Services
from rs1.storage.sqlite import SqliteDatabase


@pytest.fixture
def db() -> SqliteDatabase:
    return fresh_db()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(db: SqliteDatabase, clock: Clock) -> Services:
    return unit_services(db, clock)


@pytest.fixture(autouse=True)
def _forget_known_devices():
    """Per-isolate memos (enrolled device ids, the MQTT access cache): each test starts as a
    fresh isolate."""
    from rs1.devices import access_cache, store

    store._KNOWN.clear()
    access_cache._entries.clear()
    yield
    store._KNOWN.clear()
    access_cache._entries.clear()
