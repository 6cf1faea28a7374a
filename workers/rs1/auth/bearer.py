"""Who is calling: `Authorization: Bearer <JWT>` whose session is live in KV SESSIONS, an API
key (`Bearer rs1_live_…`, rs1.auth.api_key), or,
with Cloudflare Access configured and no bearer token, Access's `Cf-Access-Jwt-Assertion`."""

from rs1.auth import access
from rs1.auth.api_key import authenticate_key
from rs1.errors import BearerRequired, Forbidden
from rs1.identity.api_keys import looks_like_key
from rs1.identity.sessions import is_live
from rs1.identity.tokens import Claims, InvalidToken, verify_token
from rs1.messages import ApiRequest
from rs1.services import Services


def bearer_token(request: ApiRequest) -> str:
    scheme, _, token = request.header("authorization").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerRequired("A bearer token is required.")
    return token.strip()


async def authenticate(request: ApiRequest, svc: Services) -> Claims:
    """The caller's claims; 401 for a bad, expired, logged-out or revoked token."""
    assertion = request.header(access.HEADER)
    if assertion and not request.header("authorization"):
        if not access.access_enabled(svc):
            raise BearerRequired("Cloudflare Access is not configured; use a bearer token.")
        origin = request.header("origin")
        if origin and origin not in svc.settings.web_origins:
            # Access authenticates by cookie: a request another site's page makes (a form
            # post, a WebSocket) would carry it. Only our own web app may use it.
            message = f"Requests from {origin[:80]} may not use the Cloudflare Access session."
            raise Forbidden(message, code="forbidden_origin")
        try:
            return await access.access_claims(svc, assertion)
        except InvalidToken as exc:
            raise BearerRequired(f"Invalid Access token: {exc}.") from None
    token = bearer_token(request)
    if looks_like_key(token):
        return await authenticate_key(token, request, svc)
    try:
        claims = verify_token(svc.settings.jwt_secret, token, svc.clock())
    except InvalidToken as exc:
        raise BearerRequired(f"Invalid token: {exc}.") from None
    if not await is_live(svc.kv["SESSIONS"], claims):
        raise BearerRequired("The session has ended (logged out, revoked or expired).")
    return claims
