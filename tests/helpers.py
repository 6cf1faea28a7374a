"""Helpers shared by unit tests (importable as `helpers`; pytest puts tests/ on sys.path)."""

import asyncio
import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from rs1fw.signing import generate_keypair

from rs1.devices.enrollment import EnrollItem, enroll
from rs1.storage.sqlite import SqliteDatabase

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "migrations"
NOW = 1_795_000_000.0  # a fixed "now" (2026-11-18) for clock-dependent tests


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


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
        private, public = generate_keypair()
        der = serialization.load_pem_public_key(public).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private, base64.b64encode(der).decode())


FIRMWARE_KEYS = FirmwareKeys.generate()
