"""A keyspace split over N databases by a stable hash of its key (telemetry: the device id).

One D1 database is one SQLite writer; telemetry from a large fleet needs several. Shard 0 is
always the Worker's main database (binding DB), so N = 1 is exactly the unsharded system;
shard i ≥ 1 is binding TELEMETRY_DB_i (rs1.services).

Which shard holds a key: jump consistent hash (Lamping & Veach, 2014) of the first 8 bytes,
big-endian, of SHA-256(key as UTF-8). Why this hash:
- stable: the same in every isolate, on CPython and Pyodide, in every release. Python's own
  hash() of a str is salted per process, so two isolates would disagree on where a device's
  rows are. Changing this function moves every key: it is pinned by tests
  (tests/unit/telemetry/test_shards.py).
- uniform whatever the keys look like: device ids are already hex of SHA-256, but tests,
  simulators or a future id scheme need not be.
- consistent: going from N to N + 1 shards moves only the keys that land in the new shard
  (about 1/(N + 1) of them), where `hash % N` would move almost all of them.

Changing N is still a reshard, never a config change alone: with the new N some devices map
to another shard than the one holding their rows, so reads would miss them and a
redelivery would store a second copy there (exactly-once is per shard). A reshard (not built)
would: create and migrate the new databases; stop ingestion (EMQX and the queue hold and retry
while the webhook answers 503); for each device whose shard changes, copy its telemetry_raw,
telemetry_hourly and telemetry_dirty rows to the new shard with the same idempotent upserts,
then delete them from the old one; re-run the hourly job for every hour still in the hot
window so each shard archives its own rows under the new layout's keys (the keys name the
layout, `.s{i}-of-{N}`, so old and new archives never overwrite each other); set the new
TELEMETRY_SHARDS in both Workers at once; resume ingestion.
"""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from rs1.storage.database import Database

T = TypeVar("T")
_MASK64 = (1 << 64) - 1


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash: a bucket in [0, buckets) for a 64-bit key."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    bucket, jump = -1, 0
    while jump < buckets:
        bucket = jump
        key = (key * 2862933555777941757 + 1) & _MASK64
        jump = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def shard_of(key: str, shards: int) -> int:
    """The shard in [0, shards) that holds `key` (see the module docstring)."""
    digest = hashlib.sha256(key.encode()).digest()
    return jump_hash(int.from_bytes(digest[:8], "big"), shards)


class Shards:
    """N databases holding one keyspace; shard 0 is the main database (binding DB)."""

    def __init__(self, databases: Sequence[Database]) -> None:
        if not databases:
            raise ValueError("at least one shard (the main database)")
        self.databases: tuple[Database, ...] = tuple(databases)

    def __len__(self) -> int:
        return len(self.databases)

    @property
    def main(self) -> Database:
        return self.databases[0]

    def index_of(self, key: str) -> int:
        return shard_of(key, len(self.databases))

    def of(self, key: str) -> Database:
        """The one database that holds `key`."""
        return self.databases[self.index_of(key)]

    def split(self, items: Iterable[T], key: Callable[[T], str]) -> dict[int, list[T]]:
        """Items by the shard of their key (shards with none are absent), order kept."""
        groups: dict[int, list[T]] = {}
        for item in items:
            groups.setdefault(self.index_of(key(item)), []).append(item)
        return groups

    async def each(self, read: Callable[[Database], Awaitable[T]]) -> list[T]:
        """`read` on every shard at once (fan-in), results in shard order."""
        return list(await asyncio.gather(*(read(db) for db in self.databases)))
