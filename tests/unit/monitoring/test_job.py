import asyncio
import json
from dataclasses import replace

from helpers import NOW
from rs1.devices.enrollment import EnrollItem, enroll
from rs1.monitoring.job import run_monitoring
from rs1.services import HttpResult


class RecordingHttp:
    """Stands in for the runtime's fetch: records alert webhook POSTs."""

    def __init__(self) -> None:
        self.posts: list[dict] = []

    async def request(self, method, url, headers, body=None) -> HttpResult:
        self.posts.append(json.loads(body))
        return HttpResult(204, b"")


def test_alert_opens_once_notifies_and_resolves(services) -> None:
    http = RecordingHttp()
    services.http = http
    services.settings = replace(services.settings, alert_webhook_url="https://hooks.example/x")
    macs = [EnrollItem(f"AA:BB:CC:00:00:{i:02X}") for i in range(10)]
    asyncio.run(enroll(services.db, "k", macs, False))
    now_ms = int(NOW * 1000)

    asyncio.run(run_monitoring(services, now_ms))  # 0 of 10 online
    asyncio.run(run_monitoring(services, now_ms))  # still firing: no second notification
    alert = asyncio.run(services.db.first("SELECT * FROM alerts WHERE alert_id = 'devices_online'"))
    assert alert["status"] == "open"
    assert [p["state"] for p in http.posts] == ["opened"]

    asyncio.run(services.db.run("UPDATE devices SET online = 1"))
    asyncio.run(run_monitoring(services, now_ms))
    alert = asyncio.run(services.db.first("SELECT * FROM alerts WHERE alert_id = 'devices_online'"))
    assert alert["status"] == "resolved" and alert["resolved_at"]
    assert [p["state"] for p in http.posts] == ["opened", "resolved"]
