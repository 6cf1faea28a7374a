"""Cloudflare Access identities: the RS256 JWT that Access adds as `Cf-Access-Jwt-Assertion`.

Verified against the team's JWKS (fetched by the caller), the application's audience tag and
the team domain as issuer. python-jose does the JOSE work: on Pyodide it verifies RSA with the
pure-Python `rsa` package, because `cryptography` (what PyJWT needs for RS256) has no wasm wheel.
An Access identity is a `user` named by its e-mail address (what owners share devices with).
"""

import hashlib
from typing import Any

from jose import JWTError, jwt

from rs1.identity.tokens import Claims, InvalidToken

ALGORITHMS = ["RS256"]
ACCESS_JTI_PREFIX = "access:"


def verify_access_token(
    token: str, jwks: dict[str, Any], audience: str, issuer: str, now: float
) -> Claims:
    try:
        payload = jwt.decode(
            token,
            jwks,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=issuer,
            # exp/nbf/iat are checked below against the injected clock, not the wall clock.
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except JWTError as exc:
        raise InvalidToken(f"Access token refused: {exc}") from exc
    exp, email = payload.get("exp"), payload.get("email")
    if not isinstance(exp, int) or exp <= now:
        raise InvalidToken("Access token has expired")
    if isinstance(payload.get("nbf"), int) and payload["nbf"] > now + 60:
        raise InvalidToken("Access token is not valid yet")
    if not isinstance(email, str) or not email:
        raise InvalidToken("Access token names no user (service tokens are not users)")
    # Access tokens carry no jti: name the session by the token itself (nothing is stored).
    jti = ACCESS_JTI_PREFIX + hashlib.sha256(token.encode()).hexdigest()[:32]
    return Claims(sub=email.lower(), role="user", exp=exp, jti=jti)
