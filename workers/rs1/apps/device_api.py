"""rs1-device-api: the zone editor's device API (/api/*) and the ops admin API (/admin/*).

Each route carries its OpenAPI description (`Operation`); schema/openapi.json is generated
from this table and the pydantic models (`python -m rs1tools.schemas`).
"""

from typing import Any

from rs1contract.manifest import MAX_IMAGE_BYTES

from rs1.admin import alerts as admin_alerts
from rs1.admin import audit as admin_audit
from rs1.admin import bulk as admin_bulk
from rs1.admin import devices as admin_devices
from rs1.admin import diagnostics as admin_diag
from rs1.admin import event_models as em
from rs1.admin import events as admin_events
from rs1.admin import firmware as admin_firmware
from rs1.admin import keys as admin_keys
from rs1.admin import models as am
from rs1.admin import rollouts as admin_rollouts
from rs1.admin import security as admin_security
from rs1.admin import sessions as admin_sessions
from rs1.admin.fleet import fleet_overview
from rs1.api import devices as api_devices
from rs1.api import models as m
from rs1.api import sessions as api_sessions
from rs1.api import telemetry as api_telemetry
from rs1.api import zones as api_zones
from rs1.api.claim import ClaimBody, claim_device
from rs1.api.live import watch_targets
from rs1.auth.guards import GUARDS
from rs1.errors import Unprocessable
from rs1.health import health_handler
from rs1.http.app import App
from rs1.http.limits import ENROL_BATCH_BODY
from rs1.http.operation import Operation, Param
from rs1.http.rate_limit import RateLimit
from rs1.http.router import Body, Router
from rs1.http.scopes import ANY_KEY
from rs1.http.web import decorate, preflight
from rs1.zones.model import ZoneConfig

WORKER = "rs1-device-api"
DEVICE_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
IF_MATCH = Param("if-match", "The zone-config version you edited (ETag).", where="header")
BOOL = {"type": "string", "enum": ["true", "false"]}
PAGE_500 = {"type": "integer", "minimum": 1, "maximum": 500}
U, A = "devices", "admin"


def op(summary: str, tag: str = U, **kwargs: Any) -> Operation:
    paths = kwargs.pop("path_schemas", {"device_id": DEVICE_ID})
    return Operation(summary, tag, path_schemas=paths, **kwargs)


def admin(summary: str, **kwargs: Any) -> Operation:
    return op(summary, A, **kwargs)


def _user_routes(r: Router) -> None:
    health = health_handler(WORKER)
    r.add("GET", "/health", health)
    r.add(
        "GET",
        "/api/health",
        health,
        op(
            "Binding health (D1, KV, R2)",
            "health",
            response=m.Health,
            also={503: "A binding is failing"},
        ),
    )
    r.add(
        "GET",
        "/api/auth/session",
        api_sessions.current_session,
        op("The caller's session", "auth", response=m.SessionInfo),
        auth="user",
        scope=ANY_KEY,
    )
    r.add(
        "POST",
        "/api/auth/logout",
        api_sessions.logout,
        op("End the caller's session", "auth", status=204),
        auth="user",
        audit="session.logout",
    )
    r.add(
        "POST",
        "/api/devices/claim",
        claim_device,
        op(
            "Claim a device with its label code",
            response=m.Claimed,
            status=201,
            also={200: "Already yours"},
        ),
        auth="user",
        scope="devices:write",
        audit="device.claim",
        body=ClaimBody,
    )
    r.add(
        "GET",
        "/api/devices",
        api_devices.list_devices,
        op(
            "The caller's devices",
            response=m.DeviceList,
            params=(
                Param("online", "Filter by presence", BOOL),
                Param(
                    "limit",
                    "Page size (default 50)",
                    {"type": "integer", "minimum": 1, "maximum": 500},
                ),
                Param("cursor", "next_cursor of the previous page"),
            ),
        ),
        auth="user",
        scope="devices:read",
    )
    r.add(
        "GET",
        "/api/devices/{device_id}",
        api_devices.get_device,
        op("One device: presence, versions, pending config and OTA", response=m.DeviceDetail),
        auth="viewer",
        scope="devices:read",
    )
    r.add(
        "POST",
        "/api/devices/{device_id}/share",
        api_devices.share_device,
        op("Share as viewer (owners)", response=m.Shared),
        auth="owner",
        scope="devices:write",
        audit="device.share",
        body=api_devices.ShareBody,
    )
    r.add(
        "DELETE",
        "/api/devices/{device_id}/share/{user_id}",
        api_devices.unshare_device,
        op(
            "Stop sharing (owners)",
            status=204,
            path_schemas={"device_id": DEVICE_ID, "user_id": {"type": "string"}},
        ),
        auth="owner",
        scope="devices:write",
        audit="device.unshare",
    )
    r.add(
        "PUT",
        "/api/devices/{device_id}/timezone",
        api_devices.set_time_zone,
        op("Set the device's UTC offset for maintenance windows (owners)", response=m.TimeZone),
        auth="owner",
        scope="devices:write",
        audit="device.timezone",
        body=api_devices.TimeZoneBody,
    )
    r.add(
        "GET",
        "/api/devices/{device_id}/zones",
        api_zones.get_zones,
        op("Zone config: desired vs applied, versions", response=m.ZonesView),
        auth="viewer",
        scope="devices:read",
    )
    r.add(
        "PUT",
        "/api/devices/{device_id}/zones",
        api_zones.put_zones,
        op(
            "Write a new zone-config version and push it",
            response=m.ZonesWritten,
            params=(IF_MATCH,),
        ),
        auth="owner",
        scope="zones:write",
        audit="zones.write",
        body=Body(ZoneConfig, Unprocessable, "invalid_zone_config", "zone config"),
    )
    r.add(
        "POST",
        "/api/devices/{device_id}/zones/rollback",
        api_zones.rollback_zones,
        op(
            "Write an older version again as the newest",
            response=m.ZonesWritten,
            params=(IF_MATCH,),
        ),
        auth="owner",
        scope="zones:write",
        audit="zones.rollback",
        body=Body(api_zones.RollbackBody, Unprocessable),
    )
    r.add(
        "GET",
        "/api/devices/{device_id}/telemetry",
        api_telemetry.device_telemetry,
        op(
            "Telemetry: raw rows or hourly rollups",
            response=m.TelemetryPage,
            params=(
                Param("from", "Unix ms", {"type": "integer"}),
                Param("to", "Unix ms", {"type": "integer"}),
                Param("resolution", "raw or hour", {"type": "string", "enum": ["raw", "hour"]}),
                Param(
                    "limit",
                    "Page size (default 100)",
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                ),
                Param("cursor", "next_cursor"),
            ),
        ),
        auth="viewer",
        scope="devices:read",
    )
    r.add(
        "GET",
        "/api/devices/{device_id}/targets",
        watch_targets,
        op(
            "Live radar targets (WebSocket upgrade)",
            status=101,
            description="Send `Upgrade: websocket`. Browsers pass the token as a subprotocol: "
            "offer `Sec-WebSocket-Protocol: rs1.targets.v1, bearer.<JWT>`; the server answers "
            "`rs1.targets.v1`. Frames: JSON `hello`, then one `targets` per accepted "
            "telemetry/targets message. A request without Upgrade is a 426.",
        ),
        auth="watcher",
        scope="devices:read",
    )


def _admin_routes(r: Router) -> None:
    rollout_id = {"rollout_id": {"type": "string"}}
    r.add(
        "POST",
        "/admin/sessions",
        admin_sessions.create_session,
        admin(
            "Issue a session for a user",
            response=m.IssuedSession,
            status=201,
        ),
        auth="admin",
        audit="session.create",
        body=Body(admin_sessions.SessionBody, Unprocessable),
    )
    r.add(
        "DELETE",
        "/admin/sessions/{jti}",
        admin_sessions.revoke_session,
        admin("Revoke a session", status=204, path_schemas={"jti": {"type": "string"}}),
        auth="admin",
        audit="session.revoke",
    )
    r.add(
        "GET",
        "/admin/fleet",
        fleet_overview,
        admin("The fleet at a glance", response=am.Fleet),
        auth="admin",
        scope="fleet:read",
    )
    r.add(
        "GET",
        "/admin/alerts",
        admin_alerts.list_alerts,
        admin(
            "Monitoring alerts",
            response=am.AlertList,
            params=(Param("status", "open, resolved or all"),),
        ),
        auth="admin",
        scope="fleet:read",
    )
    r.add(
        "GET",
        "/admin/firmware",
        admin_firmware.list_firmware,
        admin("Uploaded firmware", response=am.FirmwareList),
        auth="admin",
        scope="firmware:read",
    )
    r.add(
        "PUT",
        "/admin/firmware/{model}/{version}",
        admin_firmware.upload_firmware,
        admin(
            "Upload a signed image (manifest in X-RS1-Manifest)",
            binary_body=True,
            response=am.FirmwareStored,
            status=201,
            also={200: "Same bytes already stored"},
            params=(
                Param(
                    "x-rs1-manifest",
                    "Signed manifest JSON (or base64)",
                    where="header",
                    required=True,
                ),
            ),
            path_schemas={"model": {"type": "string"}, "version": {"type": "string"}},
        ),
        max_body=MAX_IMAGE_BYTES,
        auth="admin",
        scope="firmware:write",
        audit="firmware.upload",
    )
    r.add(
        "GET",
        "/admin/rollouts",
        admin_rollouts.list_rollouts,
        admin("Rollouts, newest first", response=am.RolloutList),
        auth="admin",
        scope="rollouts:read",
    )
    r.add(
        "POST",
        "/admin/rollouts",
        admin_rollouts.create_rollout,
        admin(
            "Start a staged rollout",
            response=am.Rollout,
            status=201,
        ),
        auth="admin",
        scope="rollouts:write",
        audit="rollout.create",
        body=Body(admin_rollouts.RolloutBody, Unprocessable),
    )
    r.add(
        "GET",
        "/admin/rollouts/{rollout_id}",
        admin_rollouts.get_rollout,
        admin("One rollout", response=am.Rollout, path_schemas=rollout_id),
        auth="admin",
        scope="rollouts:read",
    )
    r.add(
        "GET",
        "/admin/rollouts/{rollout_id}/devices",
        admin_rollouts.rollout_devices,
        admin(
            "Each device's part in a rollout: status, trigger time, soak",
            response=am.RolloutDevices,
            path_schemas=rollout_id,
            params=(
                Param("limit", "Page size (default 500)", PAGE_500),
                Param("cursor", "next_cursor of the previous page"),
            ),
        ),
        auth="admin",
        scope="rollouts:read",
    )
    for action in ("abort", "pause", "resume", "advance"):
        handler = getattr(admin_rollouts, f"{action}_rollout")
        r.add(
            "POST",
            f"/admin/rollouts/{{rollout_id}}/{action}",
            handler,
            admin(f"{action.capitalize()} a rollout", response=am.Rollout, path_schemas=rollout_id),
            auth="admin",
            scope="rollouts:write",
            audit=f"rollout.{action}",
        )
    r.add(
        "GET",
        "/admin/devices",
        admin_diag.list_devices,
        admin(
            "Search the registry",
            response=am.DeviceSearch,
            params=(
                Param(
                    "q",
                    "Cohort query (README: version < 1.2.0 and tag:site = berlin and online); "
                    "the other filters apply without it",
                    {"type": "string", "maxLength": 1024},
                ),
                Param("version", "Firmware version"),
                Param("online", "Presence", BOOL),
                Param("owner", "Owner's user id"),
                Param(
                    "limit",
                    "Page size (default 100)",
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                ),
                Param("after", "next_after of the previous page"),
            ),
        ),
        auth="admin",
        scope="devices:read",
    )
    r.add(
        "POST",
        "/admin/devices",
        admin_devices.enroll_device,
        admin(
            "Enrol a device (returns its key once)",
            response=am.Enrolled,
            status=201,
            also={200: "Key rotated"},
        ),
        auth="admin",
        scope="devices:write",
        audit="device.enroll",
        body=admin_devices.EnrollBody,
    )
    r.add(
        "POST",
        "/admin/devices/bulk",
        admin_bulk.bulk,
        admin("Tag, revoke or diag every device a cohort query matches", response=am.BulkResult),
        auth="admin",
        scope="devices:write",
        audit="device.bulk",
        body=admin_bulk.BulkBody,
    )
    r.add(
        "POST",
        "/admin/devices:batch",
        admin_devices.enroll_batch,
        admin("Enrol a factory batch", response=am.BatchEnrolled),
        max_body=ENROL_BATCH_BODY,
        auth="admin",
        scope="devices:write",
        audit="device.enroll_batch",
        body=admin_devices.BatchBody,
    )
    r.add(
        "GET",
        "/admin/devices/{device_id}",
        admin_devices.get_device,
        admin("One registry record", response=am.DeviceRecord),
        auth="admin",
        scope="devices:read",
    )
    r.add(
        "POST",
        "/admin/devices/{device_id}/diag",
        admin_diag.request_diag,
        admin(
            "Ask a device for diagnostics",
            response=am.DiagAccepted,
            status=202,
        ),
        auth="admin",
        scope="devices:write",
        audit="device.diag",
        body=Body(admin_diag.DiagBody, optional=True),
    )
    r.add(
        "GET",
        "/admin/devices/{device_id}/diag/{request_id}",
        admin_diag.get_diag,
        admin(
            "A diagnostics answer",
            response=am.DiagAnswer,
            path_schemas={"device_id": DEVICE_ID, "request_id": {"type": "string"}},
        ),
        auth="admin",
        scope="devices:read",
    )
    r.add(
        "POST",
        "/admin/devices/{device_id}/revoke",
        admin_devices.revoke_device,
        admin("Revoke a device (and end its MQTT session)", response=am.StatusChanged),
        auth="admin",
        scope="devices:write",
        audit="device.revoke",
    )
    r.add(
        "POST",
        "/admin/devices/{device_id}/enable",
        admin_devices.enable_device,
        admin("Enable a revoked device", response=am.StatusChanged),
        auth="admin",
        scope="devices:write",
        audit="device.enable",
    )


def _ops_routes(r: Router) -> None:
    """Issue 16: tags, API keys, the audit trail."""
    r.add(
        "PUT",
        "/admin/devices/{device_id}/tags",
        admin_devices.set_tags,
        admin("Set and remove a device's tags", response=am.DeviceTags),
        auth="admin",
        body=Body(admin_devices.TagsBody, Unprocessable),
        scope="devices:write",
        audit="device.tags",
    )
    no_path: dict[str, Any] = {}
    r.add(
        "POST",
        "/admin/keys",
        admin_keys.create_key,
        admin(
            "Create an integration API key (shown once)",
            response=am.CreatedKey,
            status=201,
            path_schemas=no_path,
        ),
        auth="admin",
        body=Body(admin_keys.KeyBody, Unprocessable),
        audit="api_key.create",
    )
    r.add(
        "GET",
        "/admin/keys",
        admin_keys.list_keys,
        admin("Integration API keys (never the keys)", response=am.ApiKeys, path_schemas=no_path),
        auth="admin",
    )
    r.add(
        "DELETE",
        "/admin/keys/{key_id}",
        admin_keys.revoke_key,
        admin(
            "Revoke an API key",
            response=am.RevokedKey,
            path_schemas={"key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"}},
        ),
        auth="admin",
        audit="api_key.revoke",
    )
    r.add(
        "GET",
        "/admin/audit",
        admin_audit.list_audit,
        admin(
            "The audit trail, newest first",
            response=am.AuditPage,
            path_schemas=no_path,
            params=(
                Param("actor", "Actor id (user sub or API key id)"),
                Param("target", "Target id"),
                Param("action", "Action, e.g. zones.write"),
                Param("since", "ISO time, inclusive"),
                Param("until", "ISO time, exclusive"),
                Param("limit", "Page size (default 100)", PAGE_500),
                Param("cursor", "next_cursor of the previous page"),
            ),
        ),
        auth="admin",
        scope="audit:read",
    )
    r.add(
        "GET",
        "/admin/security-log",
        admin_security.list_security_log,
        admin(
            "The security log, newest first",
            response=am.SecurityLogPage,
            path_schemas=no_path,
            params=(
                Param(
                    "type",
                    "Event type, e.g. rate_limit_exceeded",
                    {"type": "string", "maxLength": admin_security.MAX_TYPE},
                ),
                Param("limit", "Page size (default 100)", PAGE_500),
                Param("cursor", "next_cursor of the previous page"),
            ),
        ),
        auth="admin",
        scope="audit:read",
    )
    r.add(
        "GET",
        "/admin/audit/exports",
        admin_audit.list_exports,
        admin(
            "Daily audit exports (hash-chain heads)", response=am.AuditExports, path_schemas=no_path
        ),
        auth="admin",
        scope="audit:read",
    )
    r.add(
        "GET",
        "/admin/audit/exports/{day}",
        admin_audit.get_export,
        admin(
            "One day's audit export (JSON lines)",
            path_schemas={"day": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}},
        ),
        auth="admin",
        scope="audit:read",
    )


def _event_routes(r: Router) -> None:
    """Outbound events (rs1.events): endpoints, the event log, deliveries, redelivery."""
    endpoint = {"endpoint_id": {"type": "string", "pattern": "^ep_[0-9a-f]{16}$"}}
    read, write = "events:read", "events:write"
    r.add(
        "POST",
        "/admin/events/endpoints",
        admin_events.create_endpoint,
        admin("Register an HTTPS endpoint (its secret is shown once)", response=em.CreatedEndpoint,
              status=201, path_schemas={}),
        auth="admin",
        body=Body(admin_events.EndpointBody, Unprocessable),
        scope=write,
        audit="events.endpoint.create",
    )  # fmt: skip
    r.add(
        "GET",
        "/admin/events/endpoints",
        admin_events.list_endpoints,
        admin("Event endpoints", response=em.Endpoints, path_schemas={}),
        auth="admin",
        scope=read,
    )
    r.add(
        "PATCH",
        "/admin/events/endpoints/{endpoint_id}",
        admin_events.update_endpoint,
        admin("Change or re-enable an endpoint", response=em.Endpoint, path_schemas=endpoint),
        auth="admin",
        body=Body(admin_events.EndpointPatch, Unprocessable),
        scope=write,
        audit="events.endpoint.update",
    )
    r.add(
        "DELETE",
        "/admin/events/endpoints/{endpoint_id}",
        admin_events.delete_endpoint,
        admin("Remove an endpoint", status=204, path_schemas=endpoint),
        auth="admin",
        scope=write,
        audit="events.endpoint.delete",
    )
    r.add(
        "GET",
        "/admin/events",
        admin_events.list_events,
        admin(
            "The event log, newest first",
            response=em.EventPage,
            path_schemas={},
            params=(
                Param("type", "Event type"),
                Param("since", "Unix ms", {"type": "integer", "minimum": 0}),
                Param("limit", "Page size (default 100)", PAGE_500),
                Param("cursor", "next_cursor of the previous page"),
            ),
        ),
        auth="admin",
        scope=read,
    )
    r.add(
        "GET",
        "/admin/events/deliveries",
        admin_events.list_deliveries,
        admin(
            "The delivery log",
            response=em.DeliveryPage,
            path_schemas={},
            params=(
                Param("event_id", "An event's id"),
                Param("endpoint_id", "An endpoint's id"),
                Param("status", "pending, delivered or dead",
                      {"type": "string", "enum": ["pending", "delivered", "dead"]}),
                Param("limit", "Page size (default 100)", PAGE_500),
                Param("cursor", "next_cursor of the previous page"),
            ),
        ),
        auth="admin",
        scope=read,
    )  # fmt: skip
    r.add(
        "GET",
        "/admin/events/deliveries/{delivery_id}/attempts",
        admin_events.list_attempts,
        admin("A delivery's attempts", response=em.Attempts,
              path_schemas={"delivery_id": {"type": "string"}}),
        auth="admin",
        scope=read,
    )  # fmt: skip
    r.add(
        "POST",
        "/admin/events/{event_id}/redeliver",
        admin_events.redeliver_event,
        admin("Send an event again", response=em.Redelivered, status=202,
              path_schemas={"event_id": {"type": "string"}}),
        auth="admin",
        scope=write,
        audit="events.redeliver",
    )  # fmt: skip


def build_router() -> Router:
    router = Router()
    _user_routes(router)
    _admin_routes(router)
    _ops_routes(router)
    _event_routes(router)
    return router


def build_app() -> App:
    return App(
        WORKER, build_router(), before=[preflight, RateLimit()], after=[decorate], guards=GUARDS
    )


app = build_app()
