"""rs1-device-api: the zone editor's device API (/api/*) and the ops admin API (/admin/*)."""

from rs1.health import health_handler
from rs1.http.app import App
from rs1.http.router import Router

WORKER = "rs1-device-api"


def build_app() -> App:
    router = Router()
    health = health_handler(WORKER)
    router.add("GET", "/health", health)
    router.add("GET", "/api/health", health)  # production routes only /api/* and /admin/*
    return App(WORKER, router)


app = build_app()
