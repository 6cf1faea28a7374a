"""GET /admin/alerts?status=open|resolved|all — monitoring alerts, newest first."""

from rs1.auth.caller import Caller
from rs1.errors import BadParameter
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.monitoring import store
from rs1.services import Services

STATUSES = ("open", "resolved", "all")


async def list_alerts(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    status = request.query.get("status", "open")
    if status not in STATUSES:
        message = f"'status' must be one of {', '.join(STATUSES)}."
        raise BadParameter(message)
    rows = await store.list_alerts(svc.db, None if status == "all" else status)
    return json_response({"alerts": rows})
