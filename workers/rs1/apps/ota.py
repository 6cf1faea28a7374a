"""rs1-ota: signed, resumable firmware downloads (ota.optic.works)."""

from rs1.health import health_handler
from rs1.http.app import App
from rs1.http.router import Router
from rs1.ota import downloads

WORKER = "rs1-ota"


def build_app() -> App:
    router = Router()
    router.add("GET", "/health", health_handler(WORKER))
    router.add("GET", "/firmware/{model}/offer", downloads.offer)
    router.add("GET", "/firmware/{model}/{file}", downloads.download)
    return App(WORKER, router)


app = build_app()
