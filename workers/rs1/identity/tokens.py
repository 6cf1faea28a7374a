"""Bearer tokens: HS256 JWTs signed with JWT_SECRET (PyJWT does the JWT work)."""

import secrets
from dataclasses import dataclass

import jwt

ROLES = ("user", "admin")
ALGORITHM = "HS256"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Claims:
    sub: str
    role: str
    exp: int
    jti: str


def mint_token(secret: str, sub: str, role: str, now: float, ttl_s: int = 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    payload = {
        "sub": sub,
        "role": role,
        "iat": int(now),
        "exp": int(now) + ttl_s,
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str, now: float) -> Claims:
    if not secret:
        raise InvalidToken("JWT_SECRET is not configured")
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # exp is checked below against the injected clock, not PyJWT's wall clock.
            options={"require": ["exp", "sub", "role"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if not isinstance(payload["exp"], int) or payload["exp"] <= now:
        raise InvalidToken("Signature has expired")
    if payload["role"] not in ROLES or not isinstance(payload["sub"], str):
        raise InvalidToken("unknown role or subject")
    return Claims(payload["sub"], payload["role"], int(payload["exp"]), str(payload.get("jti", "")))
