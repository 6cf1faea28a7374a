"""Hourly archives: byte-for-byte deterministic .jsonl.gz files plus a manifest."""

import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

HOUR_MS = 3_600_000


def archive_key(hour: int, shard: int = 0, shards: int = 1) -> str:
    """telemetry/YYYY/MM/DD/HH.jsonl.gz for a unix hour; with N > 1 shards, each shard's
    archive of the hour is telemetry/YYYY/MM/DD/HH.s{shard}-of-{N}.jsonl.gz (a shard that
    received nothing that hour writes none). The key names the layout, so archives of two
    layouts (before and after a reshard) never overwrite each other."""
    moment = datetime.fromtimestamp(hour * 3600, UTC)
    part = f".s{shard}-of-{shards}" if shards > 1 else ""
    return moment.strftime("telemetry/%Y/%m/%d/%H") + part + ".jsonl.gz"


def manifest_key(hour: int, shard: int = 0, shards: int = 1) -> str:
    return archive_key(hour, shard, shards).replace(".jsonl.gz", ".manifest.json")


@dataclass(frozen=True)
class Archive:
    hour: int
    data: bytes  # gzip bytes
    row_count: int
    sha256: str  # of `data`
    shard: int = 0  # which telemetry shard's rows of the hour (rs1.storage.shards)
    shards: int = 1

    @property
    def key(self) -> str:
        return archive_key(self.hour, self.shard, self.shards)

    @property
    def manifest_key(self) -> str:
        return manifest_key(self.hour, self.shard, self.shards)

    def manifest(self) -> dict[str, Any]:
        manifest = {
            "hour": self.hour,
            "object_key": self.key,
            "row_count": self.row_count,
            "sha256": self.sha256,
            "format": "jsonl+gzip; one telemetry_raw row per line, sorted by device_id, message_id",
        }
        if self.shards > 1:  # unsharded manifests stay as they always were
            manifest.update(shard=self.shard, shards=self.shards)
        return manifest


def build_archive(
    hour: int, records: list[dict[str, Any]], shard: int = 0, shards: int = 1
) -> Archive:
    """records must already be sorted by (device_id, message_id)."""
    lines = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records)
    buffer = io.BytesIO()
    # mtime=0 and no file name: the same rows always give the same bytes (and sha256).
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0, filename="") as gz:
        gz.write(lines.encode())
    data = buffer.getvalue()
    return Archive(hour, data, len(records), hashlib.sha256(data).hexdigest(), shard, shards)


def verify_archive(data: bytes, expected: Archive) -> bool:
    if hashlib.sha256(data).hexdigest() != expected.sha256:
        return False
    rows = gzip.decompress(data).decode().splitlines()
    return len(rows) == expected.row_count
