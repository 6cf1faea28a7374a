"""The auth kinds a route may declare, each a check the router runs before the handler.

- none      anyone
- user      a live bearer session (or Cloudflare Access)
- viewer    a user who may see the `{device_id}` in the path (owner, viewer or admin); anyone
            else gets the same 404 as for an unknown device, so ids cannot be enumerated
- owner     as viewer, and the device's owner or an admin (403 for a viewer)
- watcher   as viewer, the token may also arrive as a `bearer.<JWT>` WebSocket subprotocol
- admin     a session with role admin (every call is security-logged)
- webhook   EMQX's X-Webhook-Secret
- device    the device's own credentials (X-Device-Id + X-Device-Password, the MQTT password)
- signed    a signed download URL; it binds the image's sha256, so the handler checks it
            against the firmware record it loads (declared here so nothing is implicit)
"""

from collections.abc import Mapping
from dataclasses import replace

from rs1.auth.admin import require_admin
from rs1.auth.bearer import authenticate
from rs1.auth.caller import Caller, DeviceCaller
from rs1.auth.device import device_credentials
from rs1.auth.webhook import require_webhook_secret
from rs1.devices import ownership_store
from rs1.errors import Forbidden, NotFound
from rs1.http.app import Guard, anyone
from rs1.live.protocol import parse_offer
from rs1.messages import ApiRequest
from rs1.services import Services

OWNERS = ("owner", "admin")


async def _user(request: ApiRequest, svc: Services, params: Mapping[str, str]) -> Caller:
    return Caller(await authenticate(request, svc))


async def _on_device(request: ApiRequest, svc: Services, device_id: str) -> Caller:
    claims = await authenticate(request, svc)
    role = await ownership_store.role_for(svc.db, device_id, claims.sub, claims.role)
    if role is None:
        raise NotFound(f"No device {device_id}.")
    return Caller(claims, role)


async def _viewer(request: ApiRequest, svc: Services, params: Mapping[str, str]) -> Caller:
    return await _on_device(request, svc, params["device_id"])


async def _owner(request: ApiRequest, svc: Services, params: Mapping[str, str]) -> Caller:
    caller = await _viewer(request, svc, params)
    if caller.device_role not in OWNERS:
        raise Forbidden("Viewers cannot change this device; it needs its owner.")
    return caller


async def _watcher(request: ApiRequest, svc: Services, params: Mapping[str, str]) -> Caller:
    """Browsers cannot set Authorization on a WebSocket: a subprotocol token stands in for
    it unless the client sent the header (rs1.live.protocol)."""
    offer = parse_offer(request.header("sec-websocket-protocol"))
    if offer.token is not None and not request.header("authorization"):
        headers = {**request.headers, "authorization": f"Bearer {offer.token}"}
        request = replace(request, headers=headers)
    return await _on_device(request, svc, params["device_id"])


async def _admin(request: ApiRequest, svc: Services, params: Mapping[str, str]) -> Caller:
    return Caller(await require_admin(request, svc))


async def _webhook(request: ApiRequest, svc: Services, params: Mapping[str, str]) -> None:
    await require_webhook_secret(request, svc)


async def _device(request: ApiRequest, svc: Services, params: Mapping[str, str]) -> DeviceCaller:
    return DeviceCaller(await device_credentials(request, svc))


# Every kind but "none", which the app itself provides.
GUARDS: dict[str, Guard] = {
    "signed": anyone,
    "user": _user,
    "viewer": _viewer,
    "owner": _owner,
    "watcher": _watcher,
    "admin": _admin,
    "webhook": _webhook,
    "device": _device,
}
