"""GET /api/devices/{device_id}/targets — watch a device's radar targets over a WebSocket.

Owners and viewers (and admins) may watch; anyone else gets the same 404 as for any other
device route, a missing or bad token a 401. The token comes from `Authorization: Bearer` or,
for browsers, from a `bearer.<JWT>` subprotocol next to `rs1.targets.v1` (see protocol.py).
Access is checked when the socket opens and re-checked while frames flow (rs1.live.watchers):
a logged-out, revoked, expired or unshared watcher is closed within LIVE_RECHECK_S.
A request without `Upgrade: websocket` is a 426 (after the access check, so it reveals no
more than any other route).
"""

from rs1.auth.caller import Caller
from rs1.errors import Unavailable
from rs1.http.errors import ApiError
from rs1.live.protocol import PROTOCOL, is_websocket_upgrade, parse_offer
from rs1.messages import ApiRequest, ApiResponse
from rs1.ports import Watcher
from rs1.services import Services


async def watch_targets(
    request: ApiRequest, svc: Services, device_id: str, *, caller: Caller
) -> ApiResponse:
    """The route's `watcher` auth has checked the token (header or subprotocol offer)."""
    offer = parse_offer(request.header("sec-websocket-protocol"))
    if not is_websocket_upgrade(request.method, request.headers):
        raise ApiError(
            426,
            "upgrade_required",
            # No Upgrade/Connection headers: workerd drops hop-by-hop headers on a non-101.
            f"This is a WebSocket endpoint: connect with Upgrade: websocket ({PROTOCOL}).",
        )
    if svc.live is None:
        raise Unavailable("Live targets are not configured here.", code="live_unavailable")
    claims = caller.claims
    watcher = Watcher(device_id, claims.sub, claims.role, claims.jti, claims.exp, svc.clock())
    return await svc.live.connect(device_id, offer.answer, watcher)
