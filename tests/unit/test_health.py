import asyncio
import json

from rs1.health import health_handler
from rs1.messages import ApiRequest


class BrokenKv:
    async def get(self, key):
        raise OSError("kv down")


def test_healthy_when_every_binding_answers(services) -> None:
    response = asyncio.run(health_handler("rs1-x")(ApiRequest("GET", "/health"), services))
    body = json.loads(response.body)
    assert response.status == 200
    assert body["status"] == "ok" and body["worker"] == "rs1-x"
    assert body["checks"] == {"d1": True, "kv": True, "r2": True}


def test_failing_binding_degrades_to_503(services) -> None:
    services.kv = {"SESSIONS": BrokenKv()}
    response = asyncio.run(health_handler("rs1-x")(ApiRequest("GET", "/health"), services))
    body = json.loads(response.body)
    assert response.status == 503
    assert body["status"] == "degraded"
    assert body["checks"] == {"d1": True, "kv": False, "r2": True}
