"""The caller's own session: GET /api/auth/session (who am I) and POST /api/auth/logout."""

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.errors import Conflict
from rs1.identity.access import ACCESS_JTI_PREFIX
from rs1.identity.sessions import close_session
from rs1.identity.tokens import Claims
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services


def session_view(claims: Claims) -> dict:
    return {"sub": claims.sub, "role": claims.role, "expires_at": claims.exp, "jti": claims.jti}


async def current_session(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    return json_response(session_view(caller.claims))


async def logout(
    request: ApiRequest, svc: Services, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    """Ends the session of the presented token: refused from now on where this Worker runs,
    and everywhere within ~60 s (KV's propagation)."""
    if caller.claims.jti.startswith(ACCESS_JTI_PREFIX):
        message = "This is a Cloudflare Access session: sign out at /cdn-cgi/access/logout."
        raise Conflict(message, code="access_session")
    audit.target("session", caller.claims.jti)
    await audit.commit()  # KV holds the change: the record goes first
    await close_session(svc.kv["SESSIONS"], caller.claims.jti)
    return ApiResponse(204)
