"""Sessions: a bearer token is live while KV SESSIONS holds `session:{jti}`.

The key expires with the token (24 hours at most, spec), and logout or revocation deletes it,
so a stolen token can be killed before its `exp`. The record repeats sub and role so that a
token whose jti was registered for someone else is refused.
"""

import json

from rs1.identity.tokens import MAX_TTL_S, Claims, issue_token
from rs1.storage.kv import KeyValue

PREFIX = "session:"


def session_key(jti: str) -> str:
    return PREFIX + jti


def session_record(claims: Claims) -> str:
    return json.dumps({"sub": claims.sub, "role": claims.role, "exp": claims.exp})


def session_ttl(claims: Claims, now: float) -> int:
    return max(1, min(MAX_TTL_S, claims.exp - int(now)))


async def open_session(kv: KeyValue, claims: Claims, now: float) -> None:
    await kv.put(session_key(claims.jti), session_record(claims), session_ttl(claims, now))


async def is_live(kv: KeyValue, claims: Claims) -> bool:
    raw = await kv.get(session_key(claims.jti))
    if raw is None:
        return False
    try:
        record = json.loads(raw)
    except ValueError:
        return False
    return isinstance(record, dict) and (record.get("sub"), record.get("role")) == (
        claims.sub,
        claims.role,
    )


async def close_session(kv: KeyValue, jti: str) -> None:
    await kv.delete(session_key(jti))


async def start_session(
    kv: KeyValue, secret: str, sub: str, role: str, now: float, ttl_s: int
) -> tuple[str, Claims]:
    """Mint a token and register its session: the token works from now until exp or logout."""
    token, claims = issue_token(secret, sub, role, now, ttl_s)
    await open_session(kv, claims, now)
    return token, claims
