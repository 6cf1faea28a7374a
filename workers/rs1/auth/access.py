"""Cloudflare Access in front of the API (optional): verify `Cf-Access-Jwt-Assertion`.

On when ACCESS_JWKS_URL, ACCESS_AUD and ACCESS_ISSUER are set. The team's JWKS is fetched
through the runtime's fetch and kept per isolate for JWKS_TTL_S. A token naming a key id the
cached set lacks (Access rotates its keys) triggers a refetch, at most once per REFETCH_S, so
junk tokens cannot make the Worker hammer the key endpoint. An unreachable key set is a 503.
"""

import json
import time
from typing import Any

from jose import jwt
from jose.exceptions import JOSEError

from rs1.errors import Unavailable
from rs1.identity.access import verify_access_token
from rs1.identity.tokens import Claims
from rs1.services import Services

HEADER = "cf-access-jwt-assertion"
JWKS_TTL_S = 600
REFETCH_S = 60
_jwks: dict[str, tuple[float, dict[str, Any]]] = {}  # url → (fetched at, key set)


def access_enabled(svc: Services) -> bool:
    s = svc.settings
    return bool(s.access_jwks_url and s.access_aud and s.access_issuer)


def _unavailable(detail: str) -> Unavailable:
    return Unavailable(f"Cloudflare Access keys: {detail}.", code="access_keys_unavailable")


async def _fetch_jwks(svc: Services, url: str) -> dict[str, Any]:
    if svc.http is None:
        raise _unavailable("no outbound HTTP")
    try:
        result = await svc.http.request("GET", url, {"accept": "application/json"})
        keys = json.loads(result.body) if result.status == 200 else None
    except Exception as exc:  # noqa: BLE001 — network or JSON failure: the keys are unavailable
        raise _unavailable(type(exc).__name__) from None
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise _unavailable(f"HTTP {result.status}")
    _jwks[url] = (time.monotonic(), keys)
    return keys


def _kid(token: str) -> str | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except JOSEError:
        return None
    return kid if isinstance(kid, str) else None


async def _keys_for(svc: Services, token: str) -> dict[str, Any]:
    url = svc.settings.access_jwks_url
    fetched_at, keys = _jwks.get(url, (float("-inf"), {"keys": []}))
    age = time.monotonic() - fetched_at
    if age > JWKS_TTL_S:
        return await _fetch_jwks(svc, url)
    kid = _kid(token)
    known = {k.get("kid") for k in keys["keys"] if isinstance(k, dict)}
    if kid is not None and kid not in known and age > REFETCH_S:
        return await _fetch_jwks(svc, url)  # perhaps a rotated key
    return keys


async def access_claims(svc: Services, token: str) -> Claims:
    """The Access identity; InvalidToken for a bad token, a 503 when keys are unreachable."""
    s = svc.settings
    keys = await _keys_for(svc, token)
    return verify_access_token(token, keys, s.access_aud, s.access_issuer, svc.clock())
