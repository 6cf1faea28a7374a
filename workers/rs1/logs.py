"""Structured log lines: one JSON object per line, as Workers Logs / Logpush ingest them."""

import json
import sys
from typing import Any

from rs1.timefmt import utc_now_iso


def log_event(level: str, event: str, **fields: Any) -> None:
    record = {"ts": utc_now_iso(), "level": level, "event": event, **fields}
    stream = sys.stderr if level in ("error", "warning") else sys.stdout
    print(json.dumps(record, default=str), file=stream)
