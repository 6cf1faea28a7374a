"""Helpers shared by unit tests (importable as `helpers`; pytest puts tests/ on sys.path)."""

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from rs1fw.signing import generate_keypair

from rs1.devices.enrollment import EnrollItem, enroll
from rs1.mqtt.topics import device_topic
from rs1.services import Services
from rs1.settings import Settings
from rs1.storage.memory import MemoryBlobs, MemoryKv
from rs1.storage.sqlite import SqliteDatabase

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "migrations"
NOW = 1_795_000_000.0  # a fixed "now" (2026-11-18) for clock-dependent tests


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
        private, public = generate_keypair()
        der = serialization.load_pem_public_key(public).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private, base64.b64encode(der).decode())


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
