"""Bearer tokens: HS256 JWTs signed with JWT_SECRET (PyJWT does the JWT work)."""

import secrets
from dataclasses import dataclass

import jwt

from rs1.text import printable

ROLES = ("user", "admin")
ALGORITHM = "HS256"
MAX_TTL_S = 86_400  # a token lives no longer than its session in KV SESSIONS (spec: 24 h)


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Claims:
    sub: str
    role: str
    exp: int
    jti: str


def issue_token(
    secret: str, sub: str, role: str, now: float, ttl_s: int = 3600
) -> tuple[str, Claims]:
    """A signed token and its claims (the claims are what a session records)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be within 1..{MAX_TTL_S}")
    printable(sub)  # a subject is shown on screens (audit, sharing)
    claims = Claims(sub=sub, role=role, exp=int(now) + ttl_s, jti=secrets.token_hex(16))
    payload = {"sub": sub, "role": role, "iat": int(now), "exp": claims.exp, "jti": claims.jti}
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


def mint_token(secret: str, sub: str, role: str, now: float, ttl_s: int = 3600) -> str:
    return issue_token(secret, sub, role, now, ttl_s)[0]


def verify_token(secret: str, token: str, now: float) -> Claims:
    if not secret:
        raise InvalidToken("JWT_SECRET is not configured")
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # exp is checked below against the injected clock, not PyJWT's wall clock.
            options={
                "require": ["exp", "sub", "role", "jti"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if not isinstance(payload["exp"], int) or payload["exp"] <= now:
        raise InvalidToken("Signature has expired")
    if payload["role"] not in ROLES or not isinstance(payload["sub"], str):
        raise InvalidToken("unknown role or subject")
    if not isinstance(payload["jti"], str) or not payload["jti"]:
        raise InvalidToken("jti must be a non-empty string")
    return Claims(payload["sub"], payload["role"], int(payload["exp"]), payload["jti"])
