"""Triggers a device missed: sent again when it returns, once per connection, at most 3 times."""

import asyncio
import json

import pytest

from helpers import NOW, enroll_one
from rs1.ota.rollouts import MAX_TRIGGERS, RESEND_GRACE_MS, trigger_if_pending
from rs1.services import HttpResult

T0 = int(NOW * 1000)


class FakeEmqx:
    """Stands in for EMQX's HTTP publish API: records triggers; `subscribed` decides delivery."""

    def __init__(self) -> None:
        self.published: list[dict] = []
        self.subscribed = True

    async def request(self, method, url, headers, body=None) -> HttpResult:
        await asyncio.sleep(0)  # a network call yields, so concurrent webhooks interleave
        messages = json.loads(body)
        self.published += messages
        reason = {} if self.subscribed else {"reason_code": "no_matching_subscribers"}
        return HttpResult(200, json.dumps([{"id": "x", **reason} for _ in messages]).encode())


@pytest.fixture
def device(services) -> str:
    device_id = enroll_one(services.db, "AA:BB:CC:00:00:01")
    asyncio.run(
        services.db.run(
            "INSERT INTO ota_rollouts (rollout_id, firmware_version, firmware_url, "
            "firmware_sha256, firmware_size, firmware_signature, status, target_percent, "
            "stages_json) VALUES ('r-1', '2.0.0', '', ?, 4096, 'c2ln', 'active', 100, "
            "'[{\"percent\": 100}]')",
            "ab" * 32,
        )
    )
    asyncio.run(
        services.db.run(
            "INSERT INTO ota_device_status (device_id, rollout_id, status, status_rank, stage) "
            "VALUES (?, 'r-1', 'pending', 0, 0)",
            device_id,
        )
    )
    services.http = FakeEmqx()
    return device_id


def status(services, device_id: str) -> dict:
    return asyncio.run(
        services.db.first(
            "SELECT status, trigger_count FROM ota_device_status WHERE device_id = ?", device_id
        )
    )


def test_one_send_per_connection_even_when_its_webhooks_run_at_once(services, device) -> None:
    async def connection(at_ms: int) -> list[int]:
        # The connect event and the device's `state` announcement of one connection.
        return await asyncio.gather(*(trigger_if_pending(services, device, at_ms) for _ in "ab"))

    sends = [sum(asyncio.run(connection(T0 + i * (RESEND_GRACE_MS + 1)))) for i in range(5)]
    assert sends == [1] * MAX_TRIGGERS + [0, 0]
    assert len(services.http.published) == MAX_TRIGGERS
    assert status(services, device) == {"status": "triggered", "trigger_count": MAX_TRIGGERS}


def test_an_undelivered_trigger_stays_sendable(services, device) -> None:
    services.http.subscribed = False  # connected, not yet subscribed
    assert asyncio.run(trigger_if_pending(services, device, T0)) == 0
    assert status(services, device) == {"status": "pending", "trigger_count": 0}
    services.http.subscribed = True  # its `state` announcement, right after subscribing
    assert asyncio.run(trigger_if_pending(services, device, T0 + 5)) == 1
    assert status(services, device) == {"status": "triggered", "trigger_count": 1}


def test_a_device_that_acted_is_not_sent_again(services, device) -> None:
    asyncio.run(trigger_if_pending(services, device, T0))
    asyncio.run(
        services.db.run("UPDATE ota_device_status SET status = 'downloading', status_rank = 2")
    )
    assert asyncio.run(trigger_if_pending(services, device, T0 + 60_000)) == 0
