"""User calls: `Authorization: Bearer <JWT>`; access to a device needs ownership (or admin).

A device the caller may not see is a 404, never a 403: no enumeration of device ids.
"""

from rs1.api.bearer import authenticate
from rs1.devices import ownership
from rs1.http.errors import not_found
from rs1.http.messages import ApiRequest
from rs1.identity.device_id import is_device_id
from rs1.identity.tokens import Claims
from rs1.services import Services


async def require_user(request: ApiRequest, svc: Services) -> Claims:
    return await authenticate(request, svc)


async def device_role(svc: Services, claims: Claims, device_id: str) -> str | None:
    """'admin', 'owner', 'viewer' or None."""
    if not is_device_id(device_id):
        return None
    if claims.role == "admin":
        exists = await svc.db.first("SELECT 1 AS x FROM devices WHERE device_id = ?", device_id)
        return "admin" if exists else None
    return await ownership.role_of(svc.db, device_id, claims.sub)


async def require_device(request: ApiRequest, svc: Services, device_id: str) -> tuple[Claims, str]:
    claims = await require_user(request, svc)
    role = await device_role(svc, claims, device_id)
    if role is None:
        raise not_found(f"No device {device_id}.")
    return claims, role
