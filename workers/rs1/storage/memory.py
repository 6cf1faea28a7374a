"""In-process stand-ins for KV and R2, used by unit tests only (named so: Memory*)."""

import hashlib
import time
from collections.abc import Callable, Sequence

from rs1.storage.blobs import BlobMeta
from rs1.storage.kv import KV_MIN_TTL
from rs1.storage.queue import MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, QueueError, counted_size


class MemoryKv:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.items: dict[str, tuple[str, float | None]] = {}

    async def get(self, key: str) -> str | None:
        value, expires = self.items.get(key, (None, None))
        if expires is not None and expires <= self.clock():
            self.items.pop(key, None)
            return None
        return value

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        expires = self.clock() + max(KV_MIN_TTL, ttl) if ttl else None
        self.items[key] = (value, expires)

    async def delete(self, key: str) -> None:
        self.items.pop(key, None)


class MemoryBlobs:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, BlobMeta]] = {}

    async def put(
        self, key: str, data: bytes, content_type: str = "", metadata: dict[str, str] | None = None
    ) -> BlobMeta:
        etag = hashlib.md5(data).hexdigest()  # noqa: S324 — R2's etag is an MD5 too
        meta = BlobMeta(key, len(data), etag, content_type, dict(metadata or {}))
        self.objects[key] = (bytes(data), meta)
        return meta

    async def get_bytes(self, key: str) -> bytes | None:
        found = self.objects.get(key)
        return found[0] if found else None

    async def head(self, key: str) -> BlobMeta | None:
        found = self.objects.get(key)
        return found[1] if found else None

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    async def list_keys(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    async def open(self, key: str, offset: int, length: int) -> bytes | None:
        found = self.objects.get(key)
        return None if found is None else found[0][offset : offset + length]


class MemoryQueue:
    """A queue producer that keeps what was sent (unit tests); `failing` makes sends fail."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.failing = False

    async def send_batch(self, bodies: Sequence[str]) -> None:
        if self.failing:
            raise QueueError("queue unavailable (MemoryQueue.failing)")
        size = sum(counted_size(b) for b in bodies)
        if len(bodies) > MAX_BATCH_MESSAGES or size > MAX_BATCH_BYTES:
            raise QueueError("sendBatch over Cloudflare's limits")
        self.sent.append(list(bodies))

    @property
    def bodies(self) -> list[str]:
        return [body for batch in self.sent for body in batch]
