"""Admin calls: a live bearer session with role admin; every call is security-logged."""

from rs1.auth.bearer import authenticate
from rs1.errors import Forbidden
from rs1.identity.tokens import Claims
from rs1.messages import ApiRequest
from rs1.security_log import ADMIN_API_ACCESS, record_security_event
from rs1.services import Services


async def require_admin(request: ApiRequest, svc: Services) -> Claims:
    claims = await authenticate(request, svc)
    details = {"sub": claims.sub, "role": claims.role, "method": request.method}
    details["path"] = request.path
    await record_security_event(svc.db, ADMIN_API_ACCESS, details, request.client_ip)
    if claims.role != "admin":
        raise Forbidden("This call needs the admin role.")
    return claims
