import pytest

WORKERS = {"device_api": "rs1-device-api", "ota": "rs1-ota", "telemetry": "rs1-telemetry"}


@pytest.mark.parametrize("worker", WORKERS)
def test_health_reports_every_binding(system, worker: str) -> None:
    with system.client(worker) as client:
        response = client.get("/health")
    body = response.json()
    assert response.status_code == 200
    assert body["worker"] == WORKERS[worker]
    assert body["status"] == "ok"
    assert body["checks"] == {"d1": True, "kv": True, "r2": True}
    assert {"version", "timestamp"} <= body.keys()
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("worker", WORKERS)
def test_unknown_route_is_json_404(system, worker: str) -> None:
    with system.client(worker) as client:
        response = client.get("/definitely/not/here", headers={"x-request-id": "trace-7"})
    body = response.json()
    assert response.status_code == 404
    assert body["error"] == "not_found"
    assert body["request_id"] == "trace-7" == response.headers["x-request-id"]
    assert body["message"] and body["timestamp"]


def test_wrong_method_is_405_with_allow(device_api) -> None:
    response = device_api.delete("/health")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["error"] == "method_not_allowed"


def test_head_has_headers_but_no_body(device_api) -> None:
    response = device_api.head("/health")
    assert response.status_code == 200
    assert response.content == b""


def test_health_is_reachable_under_production_routes(device_api, telemetry) -> None:
    assert device_api.get("/api/health").json()["worker"] == "rs1-device-api"
    assert telemetry.get("/webhook/health").json()["worker"] == "rs1-telemetry"
