"""EMQX byte sizes ("256MB", "1KB", a bare number of bytes) as an int (emqx_schema:bytesize)."""

import re

_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_SIZE = re.compile(r"\s*(\d+)\s*(B|KB|MB|GB)?\s*", re.IGNORECASE)


def size_bytes(value: object, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        raise ValueError(f"not a byte size: {value!r}")
    if isinstance(value, int):
        return value
    match = _SIZE.fullmatch(str(value))
    if not match:
        raise ValueError(f"not a byte size: {value!r}")
    return int(match.group(1)) * _UNITS[(match.group(2) or "").upper()]
