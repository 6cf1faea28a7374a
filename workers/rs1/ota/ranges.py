"""HTTP Range requests (a single byte range, as devices resume downloads)."""

import re

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive, or None to send the whole body. Malformed or multi-range
    headers are ignored (RFC 9110 allows that); a start past the end is unsatisfiable."""
    match = _RANGE.match(header.strip()) if header else None
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise Unsatisfiable
        return max(0, size - length), size - 1
    start = int(first)
    if start >= size:
        raise Unsatisfiable
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None
    return start, end
