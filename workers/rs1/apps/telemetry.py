"""rs1-telemetry: EMQX webhooks (authn, authz, rule actions) and the scheduled jobs."""

from rs1.audit.export import run_audit_export
from rs1.auth.guards import GUARDS
from rs1.backups.job import run_daily_backup
from rs1.events.delivery import run_deliveries
from rs1.health import health_handler
from rs1.http.app import RETRY_LATER, App
from rs1.http.limits import TELEMETRY_BATCH_BODY, WEBHOOK_BODY
from rs1.http.router import Router
from rs1.logs import log_event
from rs1.monitoring.job import run_monitoring
from rs1.mqtt.webhook_models import AclRequest, AuthRequest, ClientEvent, PublishEnvelope
from rs1.ota import rollouts
from rs1.services import Services
from rs1.telemetry.jobs import run_hourly
from rs1.webhooks import access, config_status, ota_status, presence, telemetry

WORKER = "rs1-telemetry"


def build_app() -> App:
    router = Router(max_body=WEBHOOK_BODY)
    health = health_handler(WORKER)
    router.add("GET", "/health", health)
    router.add("GET", "/webhook/health", health)  # production routes only /webhook/*
    # EMQX calls these with X-Webhook-Secret; each body is one webhook model, except the
    # telemetry batch (one envelope or a list of them), which the handler tells apart.
    for path, handler, body in (
        ("mqtt-auth", access.mqtt_auth, AuthRequest),
        ("mqtt-acl", access.mqtt_acl, AclRequest),
        ("device-state", presence.device_state, PublishEnvelope),
        ("device-connected", presence.device_connected, ClientEvent),
        ("device-offline", presence.device_offline, ClientEvent),
        ("ota-status", ota_status.ota_status, PublishEnvelope),
        ("config-status", config_status.config_status, PublishEnvelope),
    ):
        router.add("POST", f"/webhook/{path}", handler, auth="webhook", body=body)
    router.add(
        "POST",
        "/webhook/telemetry",
        telemetry.telemetry,
        max_body=TELEMETRY_BATCH_BODY,
        auth="webhook",
    )
    # EMQX is its only caller: anything unexpected is retried, never dropped (http.app).
    return App(WORKER, router, guards=GUARDS, unexpected=RETRY_LATER)


HOURLY = "0 * * * *"
EVERY_5_MINUTES = "*/5 * * * *"
DAILY = "15 3 * * *"
EVERY_MINUTE = "* * * * *"


async def run_cron(cron: str, scheduled_ms: float, svc: Services) -> None:
    """Scheduled jobs by cron expression (wrangler.telemetry.toml [triggers])."""
    if cron == HOURLY:
        await run_hourly(svc, int(scheduled_ms))
    elif cron == DAILY:
        await run_daily_backup(svc, int(scheduled_ms))
        await run_audit_export(svc, int(scheduled_ms))
    elif cron == EVERY_MINUTE:
        # Rollouts every minute: their rate limits are per minute, and soaks end on time.
        await rollouts.tick(svc, int(scheduled_ms))  # timeouts, soaks, safety, stages, ramps
        await run_deliveries(svc, int(scheduled_ms))  # outbound events
    elif cron == EVERY_5_MINUTES:
        await run_monitoring(svc, int(scheduled_ms))
    else:
        log_event("warning", "unknown_cron", cron=cron)


app = build_app()
