"""HTTP API keys, as EMQX bootstraps them: `key:secret[:role]` lines in
api_key.bootstrap_file, plus the Workers' key from EMQX_API_KEY ("key:secret")."""

import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("rs1broker")

ROLES = ("administrator", "viewer", "publisher")
_UNUSED = "x" * 32  # compared against when the key is unknown, to keep timing alike


@dataclass(frozen=True)
class ApiKey:
    key: str
    secret: str
    role: str = "administrator"


def parse_line(line: str) -> ApiKey | None:
    key, _, rest = line.strip().partition(":")
    secret, _, role = rest.partition(":")
    role = role or "administrator"
    if not key or not secret or role not in ROLES:
        return None
    return ApiKey(key, secret, role)


class ApiKeys:
    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._keys = {k.key: k for k in keys}

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def load(cls, env_value: str | None, bootstrap_file: Path | None) -> "ApiKeys":
        keys = []
        if env_value and (key := parse_line(env_value)):
            keys.append(key)
        if bootstrap_file is not None and bootstrap_file.is_file():
            keys.extend(cls._read(bootstrap_file))
        return cls(keys)

    @staticmethod
    def _read(path: Path) -> list[ApiKey]:
        keys = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key = parse_line(line)
            if key is None:
                log.warning("%s:%d: not a key:secret[:role] line, skipped", path, number)
            else:
                keys.append(key)
        return keys

    def role_of(self, key: str, secret: str) -> str | None:
        """The key's role when the secret is right, else None (constant-time comparison)."""
        known = self._keys.get(key)
        expected = known.secret if known else _UNUSED
        ok = hmac.compare_digest(secret.encode(), expected.encode())
        return known.role if known and ok else None
