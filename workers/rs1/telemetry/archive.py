"""Hourly archives: byte-for-byte deterministic .jsonl.gz files plus a manifest."""

import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

HOUR_MS = 3_600_000


def archive_key(hour: int) -> str:
    """telemetry/YYYY/MM/DD/HH.jsonl.gz for a unix hour."""
    moment = datetime.fromtimestamp(hour * 3600, UTC)
    return moment.strftime("telemetry/%Y/%m/%d/%H.jsonl.gz")


def manifest_key(hour: int) -> str:
    return archive_key(hour).replace(".jsonl.gz", ".manifest.json")


@dataclass(frozen=True)
class Archive:
    hour: int
    data: bytes  # gzip bytes
    row_count: int
    sha256: str  # of `data`

    def manifest(self) -> dict[str, Any]:
        return {
            "hour": self.hour,
            "object_key": archive_key(self.hour),
            "row_count": self.row_count,
            "sha256": self.sha256,
            "format": "jsonl+gzip; one telemetry_raw row per line, sorted by device_id, message_id",
        }


def build_archive(hour: int, records: list[dict[str, Any]]) -> Archive:
    """records must already be sorted by (device_id, message_id)."""
    lines = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records)
    buffer = io.BytesIO()
    # mtime=0 and no file name: the same rows always give the same bytes (and sha256).
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0, filename="") as gz:
        gz.write(lines.encode())
    data = buffer.getvalue()
    return Archive(hour, data, len(records), hashlib.sha256(data).hexdigest())


def verify_archive(data: bytes, expected: Archive) -> bool:
    if hashlib.sha256(data).hexdigest() != expected.sha256:
        return False
    rows = gzip.decompress(data).decode().splitlines()
    return len(rows) == expected.row_count
