"""rs1-only ledger tap (not in EMQX): one JSON line, flushed, for every message that did not
reach a 2xx — a denied PUBLISH, an action delivery that ended without 2xx, a job lost at
shutdown — and on stop a final `metrics` line with this broker life's counters, so a test
harness can account for every message across restarts (emqx/README.md, "Ledger tap")."""

import json
import threading
from pathlib import Path
from typing import Any, TextIO

from rs1broker.client_info import now_ms


def message_id_of(payload: bytes) -> str | None:
    """The payload's top-level "message_id" string when it is a JSON object with one."""
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    value = document.get("message_id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


class Ledger:
    """Appends to `path`; with no path every write is a no-op."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._file: TextIO | None = path.open("a", encoding="utf-8") if path else None

    def write(self, kind: str, **fields: Any) -> None:
        if self._file is None:
            return
        line = json.dumps({"at": now_ms(), "kind": kind, **fields}, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
