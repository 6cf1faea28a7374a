"""Every webhook starts here: the X-Webhook-Secret check, in constant time."""

import hmac

from rs1.errors import Unauthenticated
from rs1.messages import ApiRequest
from rs1.security_log import WEBHOOK_SECRET_INVALID, record_security_event
from rs1.services import Services


async def require_webhook_secret(request: ApiRequest, svc: Services) -> None:
    expected = svc.settings.webhook_secret.encode()
    given = request.header("x-webhook-secret").encode()
    # An unset secret must never mean "no check": compare against something unguessable.
    if expected and hmac.compare_digest(given, expected):
        return
    await record_security_event(
        svc.db,
        WEBHOOK_SECRET_INVALID,
        {"path": request.path, "present": bool(given), "configured": bool(expected)},
        request.client_ip,
    )
    raise Unauthenticated("Missing or wrong X-Webhook-Secret header.")
