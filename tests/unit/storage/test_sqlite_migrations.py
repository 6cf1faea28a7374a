"""The migrations on CPython's SQLite (the integration suite checks them on Miniflare's D1)."""

import asyncio

import pytest

from rs1.storage.database import Statement, StorageError


def test_spec_tables_exist(db) -> None:
    rows = asyncio.run(db.all("SELECT name FROM sqlite_master WHERE type = 'table'"))
    names = {r["name"] for r in rows}
    assert {
        "devices",
        "device_ownership",
        "zone_configs",
        "ota_rollouts",
        "ota_device_status",
        "security_log",
    } <= names


def test_foreign_keys_are_enforced(db) -> None:
    with pytest.raises(StorageError) as err:
        asyncio.run(db.run("INSERT INTO device_ownership (device_id, user_id) VALUES ('x', 'u')"))
    assert err.value.is_constraint_violation


def test_batch_is_all_or_nothing(db) -> None:
    device = "a" * 32
    statements = [
        Statement("INSERT INTO devices (device_id, mac_address) VALUES (?, ?)", (device, "m1")),
        Statement("INSERT INTO devices (device_id, mac_address) VALUES (?, ?)", (device, "m2")),
    ]
    with pytest.raises(StorageError):
        asyncio.run(db.batch(statements))
    assert asyncio.run(db.all("SELECT * FROM devices")) == []
