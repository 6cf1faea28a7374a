"""GET /health: is each binding this Worker depends on answering?"""

from collections.abc import Awaitable, Callable

from rs1 import __version__
from rs1.logs import log_event
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.monitoring import store as monitoring_store
from rs1.services import Services
from rs1.timefmt import utc_now_iso

PROBE_KEY = "health/probe"


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> bool:
    try:
        await probe()
        return True
    except Exception as exc:  # noqa: BLE001 — a failing binding is a failed check, not a 500
        log_event("warning", "health_check_failed", check=name, exception=repr(exc))
        return False


async def binding_checks(svc: Services) -> dict[str, bool]:
    kv = next(iter(svc.kv.values()), None)
    blobs = next(iter(svc.blobs.values()), None)
    return {
        "d1": await _check("d1", lambda: monitoring_store.ping(svc.db)),
        "kv": kv is not None and await _check("kv", lambda: kv.get(PROBE_KEY)),
        "r2": blobs is not None and await _check("r2", lambda: blobs.head(PROBE_KEY)),
    }


def health_handler(worker: str) -> Callable[[ApiRequest, Services], Awaitable[ApiResponse]]:
    async def health(request: ApiRequest, svc: Services) -> ApiResponse:
        checks = await binding_checks(svc)
        healthy = all(checks.values())
        body = {
            "status": "ok" if healthy else "degraded",
            "worker": worker,
            "version": __version__,
            "timestamp": utc_now_iso(),
            "checks": checks,
        }
        return json_response(body, 200 if healthy else 503, {"cache-control": "no-store"})

    return health
