"""POST /webhook/mqtt-auth and /webhook/mqtt-acl: EMQX HTTP authentication and authorization.

Replies follow EMQX 5: 200 application/json {"result": "allow"|"deny"} (+ "is_superuser" for
authn). A malformed body is a 400, which EMQX treats as "ignore" (refused: last authenticator).
"""

from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.mqtt.access import authenticate, authorize_request
from rs1.mqtt.webhook_models import AclRequest, AuthRequest
from rs1.services import Services


async def mqtt_auth(request: ApiRequest, svc: Services, *, body: AuthRequest) -> ApiResponse:
    allowed = await authenticate(body, svc)
    return json_response({"result": "allow" if allowed else "deny", "is_superuser": False})


async def mqtt_acl(request: ApiRequest, svc: Services, *, body: AclRequest) -> ApiResponse:
    decision = await authorize_request(body, svc)
    return json_response({"result": decision.result})
