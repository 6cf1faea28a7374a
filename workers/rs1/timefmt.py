"""The one ISO-8601 text every record and response carries: UTC, milliseconds, `Z`.

It sorts lexicographically in time order, which the registry's queries rely on.
"""

from datetime import UTC, datetime


def iso_ms(at_ms: float) -> str:
    """Unix ms → `2026-11-28T10:36:09.123Z`."""
    return _text(datetime.fromtimestamp(at_ms / 1000, UTC))


def utc_now_iso() -> str:
    return _text(datetime.now(UTC))


def _text(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
