"""Integration API keys: `rs1_live_<key_id>_<secret>`.

The prefix lets secret scanners spot a leaked key; key_id (public) finds the record; the
whole key is stored only as its sha256 (the secret has 256 bits: no salt or slow hash needed)
and compared in constant time.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "rs1_live_"
_KEY = re.compile(r"^rs1_live_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewKey:
    key_id: str
    key: str  # shown once
    secret_hash: str


def looks_like_key(token: str) -> bool:
    return token.startswith("rs1_")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> NewKey:
    key_id = secrets.token_hex(8)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return NewKey(key_id, key, hash_key(key))


def key_id_of(key: str) -> str | None:
    """The key's id, or None if it is not shaped like one of ours."""
    found = _KEY.match(key)
    return found.group(1) if found else None


def matches(key: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), secret_hash)
