"""Pages: opaque cursors (base64url JSON of where the last page ended), integer query
parameters and the one-row look-ahead that says whether another page exists."""

import base64
import binascii
import json
from typing import Any, TypeVar

from rs1.errors import BadParameter

T = TypeVar("T")
# Epoch milliseconds and sequence numbers from clients stay below this: D1 refuses a Python
# int beyond 2**53 (it crosses as a BigInt), which would be a 503 rather than the caller's 400.
MAX_BINDABLE = 10**13


def bindable_int(value: Any) -> bool:
    """A JSON value a cursor may hold as a number: a plain int D1 can bind."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_BINDABLE


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def bad_cursor() -> BadParameter:
    return BadParameter("'cursor' is not a cursor this API returned.")


def decode_cursor(raw: str) -> Any:
    """The position a cursor holds; a clear 400 for anything this API did not hand out."""
    try:
        return json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_cursor() from None


def after_id(raw: str | None) -> str:
    """The id a `{"after": id}` cursor holds ("" for the first page)."""
    if not raw:
        return ""
    position = decode_cursor(raw)
    if not isinstance(position, dict) or not isinstance(position.get("after"), str):
        raise bad_cursor()
    return position["after"]


def int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"'{name}' must be an integer.") from None
    if not low <= value <= high:
        raise BadParameter(f"'{name}' must be between {low} and {high}.")
    return value


def split_page(rows: list[T], limit: int) -> tuple[list[T], bool]:
    """Callers fetch `limit + 1` rows: the extra one only says that another page exists, so
    the last page never hands out a cursor to an empty page."""
    return rows[:limit], len(rows) > limit
