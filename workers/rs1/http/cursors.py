"""Opaque page cursors: base64url JSON of where the last page ended (pages follow next_cursor)."""

import base64
import binascii
import json
from typing import Any

from rs1.http.errors import bad_request


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_cursor(raw: str) -> Any:
    """The position a cursor holds; a clear 400 for anything this API did not hand out."""
    try:
        return json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("'cursor' is not a cursor this API returned.") from None
