"""rs1-telemetry: EMQX webhooks (authn, authz, rule actions) and the scheduled jobs."""

from rs1.health import health_handler
from rs1.http.app import App
from rs1.http.router import Router
from rs1.services import Services

WORKER = "rs1-telemetry"


def build_app() -> App:
    router = Router()
    health = health_handler(WORKER)
    router.add("GET", "/health", health)
    router.add("GET", "/webhook/health", health)  # production routes only /webhook/*
    return App(WORKER, router)


async def run_cron(cron: str, scheduled_ms: float, svc: Services) -> None:
    """Scheduled jobs by cron expression; later issues add aggregation, archives, backups."""
    return None


app = build_app()
