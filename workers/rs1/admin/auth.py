"""Admin calls: `Authorization: Bearer <JWT>` with role admin; every call is security-logged."""

from rs1.http.errors import ApiError
from rs1.http.messages import ApiRequest
from rs1.identity.tokens import Claims, InvalidToken, verify_token
from rs1.security_log import ADMIN_API_ACCESS, record_security_event
from rs1.services import Services

CHALLENGE = {"www-authenticate": 'Bearer realm="rs1-admin"'}


def bearer_token(request: ApiRequest) -> str:
    scheme, _, token = request.header("authorization").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "A bearer token is required.", headers=CHALLENGE)
    return token.strip()


async def require_admin(request: ApiRequest, svc: Services) -> Claims:
    try:
        claims = verify_token(svc.settings.jwt_secret, bearer_token(request), svc.clock())
    except InvalidToken as exc:
        raise ApiError(401, "unauthorized", f"Invalid token: {exc}.", headers=CHALLENGE) from None
    details = {"sub": claims.sub, "role": claims.role, "method": request.method}
    details["path"] = request.path
    await record_security_event(svc.db, ADMIN_API_ACCESS, details, request.client_ip)
    if claims.role != "admin":
        raise ApiError(403, "forbidden", "This call needs the admin role.")
    return claims
