"""GET /admin/alerts?status=open|resolved|all — monitoring alerts, newest first."""

from rs1.admin.auth import require_admin
from rs1.http.errors import bad_request
from rs1.http.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services

STATUSES = ("open", "resolved", "all")


async def list_alerts(request: ApiRequest, svc: Services) -> ApiResponse:
    await require_admin(request, svc)
    status = request.query.get("status", "open")
    if status not in STATUSES:
        raise bad_request(f"'status' must be one of {', '.join(STATUSES)}.")
    where, params = ("", ()) if status == "all" else ("WHERE status = ?", (status,))
    rows = await svc.db.all(
        "SELECT alert_id, kind, subject, status, message, value, threshold, opened_at, "
        f"updated_at, resolved_at FROM alerts {where} ORDER BY updated_at DESC LIMIT 200",
        *params,
    )
    return json_response({"alerts": rows})
