"""Signed outbound events over the running system: a receiver that fails half its deliveries
during a fleet run still gets every event exactly once by id, each correctly signed."""

import asyncio
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from rs1.events.signing import verify
from rs1.events.types import EVENT_TYPES
from rs1tools.fleet import Fleet, FleetConfig

DEVICES = 12
EVERY_MINUTE = "* * * * *"


class Receiver(ThreadingHTTPServer):
    """Answers 500 to a seeded half of the deliveries; keeps what it accepted, by event id."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.rng = random.Random(16)
        self.lock = threading.Lock()
        self.secret = ""
        self.accepted: Counter[str] = Counter()
        self.types: dict[str, str] = {}
        self.refused = 0
        self.bad_signatures = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/rs1-events"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        server = self.server
        with server.lock:
            if not verify(server.secret, self.headers["rs1-signature"], body, time.time()):
                server.bad_signatures += 1
            fail = server.rng.random() < 0.5
            if fail:
                server.refused += 1
            else:
                event = json.loads(body)
                server.accepted[event["id"]] += 1
                server.types[event["id"]] = event["type"]
        self.send_response(500 if fail else 204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def all_pages(admin: httpx.Client, path: str, key: str, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        page = admin.get(
            path, params={**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        out += page.json()[key]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return out


def drain(telemetry: httpx.Client, admin: httpx.Client, endpoint_id: str) -> None:
    """Fire the delivery cron until nothing is pending, each run an hour later (past any
    backoff): the local host runs a cron at the time it is given."""
    now_ms = int(time.time() * 1000)
    for hour in range(1, 23):
        fired = telemetry.get(
            "/cdn-cgi/local/scheduled",
            params={"cron": EVERY_MINUTE, "time": now_ms + hour * 3_600_000},
        )
        assert fired.status_code == 200, fired.text
        pending = admin.get(
            "/admin/events/deliveries", params={"endpoint_id": endpoint_id, "status": "pending"}
        ).json()["deliveries"]
        if not pending:
            return
    raise AssertionError(f"{len(pending)} deliveries still pending")


@pytest.mark.timeout(600)
def test_a_half_failing_receiver_gets_every_event_exactly_once(
    system, admin, telemetry, receiver
) -> None:
    if system.mqtt_port is None:
        pytest.skip("needs the system's MQTT broker (RS1_MQTT_PORT)")
    created = admin.post(
        "/admin/events/endpoints",
        json={"url": receiver.url, "event_types": list(EVENT_TYPES), "description": "it"},
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    receiver.secret = endpoint["secret"]
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in json.dumps(admin.get("/admin/events/endpoints").json())
    started_ms = int(time.time() * 1000)

    config = FleetConfig(
        admin_token=admin.headers["authorization"].split()[1],
        devices=DEVICES,
        duration_s=None,
        mqtt_port=system.mqtt_port,
        api=system.urls["device_api"],
        telemetry_interval_s=2.0,
        ramp_s=1.0,
        seed=16,
    )

    async def fleet_run() -> None:
        async with Fleet(config) as fleet:
            for _ in range(240):  # up to a minute for every device to connect
                if len(fleet.connected_ids()) == DEVICES:
                    break
                await asyncio.sleep(0.25)
            await asyncio.sleep(2)
            revoked = fleet.devices[0].device_id
            assert admin.post(f"/admin/devices/{revoked}/revoke").status_code == 200
            await asyncio.sleep(2)

    asyncio.run(fleet_run())
    time.sleep(2)  # the last disconnect webhooks
    drain(telemetry, admin, endpoint["endpoint_id"])

    events = all_pages(admin, "/admin/events", "events", since=started_ms)
    ours = {e["id"]: e["type"] for e in events}
    kinds = Counter(ours.values())
    assert kinds["device.enrolled"] == DEVICES and kinds["device.revoked"] == 1
    # A connect whose webhook arrives after the device's newer disconnect is not "online"
    # (presence is honest about order), so not every boot has to show as an online event.
    assert kinds["device.online"] >= DEVICES // 2 and kinds["device.offline"] >= 1
    # Every event once by id (nothing accepted twice), signatures valid, failures retried.
    assert {i for i in receiver.accepted if i in ours} == set(ours)
    assert max(receiver.accepted.values()) == 1
    assert receiver.bad_signatures == 0 and receiver.refused > 0
    deliveries = all_pages(
        admin, "/admin/events/deliveries", "deliveries", endpoint_id=endpoint["endpoint_id"]
    )
    assert {d["status"] for d in deliveries} == {"delivered"}
    retried = [d for d in deliveries if d["attempts"] > 1]
    assert retried
    attempts = admin.get(f"/admin/events/deliveries/{retried[0]['delivery_id']}/attempts")
    assert [a["status"] for a in attempts.json()["attempts"]][-1] == 204

    # Redelivery by id sends one again, on purpose.
    again = admin.post(f"/admin/events/{events[0]['id']}/redeliver")
    assert again.status_code == 202 and again.json()["deliveries"]
    receiver.rng = random.Random(0)
    receiver.rng.random = lambda: 1.0  # type: ignore[method-assign]  # accept everything now
    drain(telemetry, admin, endpoint["endpoint_id"])
    assert receiver.accepted[events[0]["id"]] == 2
    assert admin.delete(f"/admin/events/endpoints/{endpoint['endpoint_id']}").status_code == 204


def test_endpoints_are_validated(admin) -> None:
    for bad in (
        {"url": "ftp://example.com/x", "event_types": ["device.online"]},
        {"url": "http://example.com/x", "event_types": ["device.online"]},
        {"url": "https://user:pw@example.com/x", "event_types": ["device.online"]},
        {"url": "https://example.com/x", "event_types": ["device.exploded"]},
    ):
        response = admin.post("/admin/events/endpoints", json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert admin.get("/admin/events/deliveries", params={"status": "lost"}).status_code == 400
    assert admin.post("/admin/events/evt_nope/redeliver").status_code == 404
