"""rs1-ota: signed, resumable firmware downloads (ota.optic.works)."""

from rs1 import downloads
from rs1.auth.guards import GUARDS
from rs1.health import health_handler
from rs1.http.app import App
from rs1.http.router import Router

WORKER = "rs1-ota"


def build_app() -> App:
    router = Router()
    router.add("GET", "/health", health_handler(WORKER))
    router.add("GET", "/firmware/{model}/offer", downloads.offer, auth="device")
    router.add("GET", "/firmware/{model}/{file}", downloads.download, auth="signed")
    return App(WORKER, router, guards=GUARDS)


app = build_app()
