"""The firmware release store, straight on SQLite with the real migrations."""

import asyncio

from rs1.ota import firmware_store

SHA_A, SHA_B = "ab" * 32, "cd" * 32


def run(coro):
    return asyncio.run(coro)


def release(db, version: str = "2.0.0", sha256: str = SHA_A, **extra) -> bool:
    fields = {
        "model": "RS-1",
        "version": version,
        "size": 4096,
        "sha256": sha256,
        "signature": "c2ln",
        "min_version": None,
        "security_version": 0,
        "object_key": f"firmware/RS-1/{version}/{sha256}.bin",
        "created_at": f"2026-01-01T00:00:0{version[0]}.000Z",
        **extra,
    }
    return run(firmware_store.insert(db, **fields))


def test_a_version_is_stored_once_and_the_first_bytes_stay(db) -> None:
    assert release(db)
    assert not release(db)  # the same upload again
    assert not release(db, sha256=SHA_B)  # a racing upload of other bytes loses
    assert run(firmware_store.sha256_of(db, "RS-1", "2.0.0")) == SHA_A


def test_reads_of_a_release(db) -> None:
    release(db, min_version="1.5.0")
    row = run(firmware_store.get(db, "RS-1", "2.0.0"))
    assert row is not None and row["signature"] == "c2ln" and row["size"] == 4096
    assert run(firmware_store.artifact(db, "RS-1", "2.0.0")) == {
        "size": 4096,
        "sha256": SHA_A,
        "object_key": f"firmware/RS-1/2.0.0/{SHA_A}.bin",
    }
    assert run(firmware_store.min_version(db, "RS-1", "2.0.0")) == "1.5.0"


def test_an_unknown_release_reads_as_none(db) -> None:
    release(db)
    for version in ("9.9.9", "2.0.0"):
        model = "RS-2" if version == "2.0.0" else "RS-1"
        assert run(firmware_store.get(db, model, version)) is None
        assert run(firmware_store.artifact(db, model, version)) is None
        assert run(firmware_store.sha256_of(db, model, version)) is None
        assert run(firmware_store.min_version(db, model, version)) is None


def test_the_list_is_per_model_newest_first_without_secrets(db) -> None:
    release(db, "1.0.0")
    release(db, "3.0.0")
    release(db, "2.0.0", model="RS-0")
    rows = run(firmware_store.list_all(db))
    assert [(r["model"], r["version"]) for r in rows] == [
        ("RS-0", "2.0.0"),
        ("RS-1", "3.0.0"),
        ("RS-1", "1.0.0"),
    ]
    assert set(rows[0]) == {
        "model", "version", "size", "sha256", "min_version", "security_version", "created_at"
    }  # fmt: skip
