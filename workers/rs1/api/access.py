"""Cloudflare Access in front of the API (optional): verify `Cf-Access-Jwt-Assertion`.

On when ACCESS_JWKS_URL, ACCESS_AUD and ACCESS_ISSUER are set. The team's JWKS is fetched
through the runtime's fetch and kept per isolate for JWKS_TTL_S; a token signed by a key the
cached set lacks (Access rotates keys) triggers one refetch.
"""

import json
import time
from typing import Any

from rs1.identity.access import verify_access_token
from rs1.identity.tokens import Claims, InvalidToken
from rs1.services import Services

HEADER = "cf-access-jwt-assertion"
JWKS_TTL_S = 600
_jwks: dict[str, tuple[float, dict[str, Any]]] = {}  # url → (fetched at, key set)


def access_enabled(svc: Services) -> bool:
    s = svc.settings
    return bool(s.access_jwks_url and s.access_aud and s.access_issuer)


async def _fetch_jwks(svc: Services, url: str) -> dict[str, Any]:
    if svc.http is None:
        raise InvalidToken("no outbound HTTP to fetch the Access keys")
    result = await svc.http.request("GET", url, {"accept": "application/json"})
    try:
        keys = json.loads(result.body) if result.status == 200 else None
    except ValueError:
        keys = None
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise InvalidToken(f"the Access key set at {url} is unavailable ({result.status})")
    _jwks[url] = (time.monotonic(), keys)
    return keys


async def _keys(svc: Services, refresh: bool) -> dict[str, Any]:
    url = svc.settings.access_jwks_url
    cached = _jwks.get(url)
    if refresh or cached is None or time.monotonic() - cached[0] > JWKS_TTL_S:
        return await _fetch_jwks(svc, url)
    return cached[1]


async def access_claims(svc: Services, token: str) -> Claims:
    s = svc.settings
    try:
        keys = await _keys(svc, False)
        return verify_access_token(token, keys, s.access_aud, s.access_issuer, svc.clock())
    except InvalidToken:
        # Perhaps a key the cached set lacks (rotation): one fresh look, then the verdict.
        keys = await _keys(svc, True)
        return verify_access_token(token, keys, s.access_aud, s.access_issuer, svc.clock())
