"""The outbound events drainer (rs1-telemetry's `* * * * *` cron): claim due deliveries,
POST each signed event to its endpoint, record the outcome.

At least once: a delivery is done only when its endpoint answered 2xx; anything else (another
status, a transport error, no answer in SEND_TIMEOUT_S) is retried with exponential backoff
and jitter until the delivery is EVENTS_MAX_AGE_S old (24 h), then it is dead. An endpoint
that fails EVENTS_DISABLE_AFTER times in a row is disabled, with an alert. Receivers dedupe
by the event id (RS1-Event-Id); a 2xx is never sent again unless ops redeliver.
"""

import asyncio
import json
import random

from rs1.events import backoff, signing, store
from rs1.logs import log_event
from rs1.monitoring import store as alerts
from rs1.monitoring.checks import Finding
from rs1.services import HttpClient, Services
from rs1.storage.database import Row
from rs1.timefmt import iso_ms

CLAIM = 50  # deliveries leased at a time
CONCURRENCY = 10
MAX_SENDS = 400  # per invocation: Workers allow 1,000 subrequests, D1 calls count too
BUDGET_S = 20.0
SEND_TIMEOUT_S = 10.0
# A lease outlives its batch: CLAIM / CONCURRENCY waves of sends, each at most SEND_TIMEOUT_S.
LEASE_MS = 120_000
USER_AGENT = "rs1-events/1"


def payload(event: Row) -> bytes:
    body = {
        "id": event["event_id"],
        "type": event["type"],
        "created_at": event["created_at"],
        "data": json.loads(event["data"]),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def headers(secret: str, event: Row, body: bytes, now_s: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "rs1-event-id": event["event_id"],
        "rs1-event-type": event["type"],
        "rs1-signature": signing.sign(secret, body, now_s),
    }


async def _post(
    http: HttpClient, url: str, head: dict[str, str], body: bytes
) -> tuple[int | None, str]:
    """(status, error): status None for a transport failure or a timeout."""
    try:
        result = await asyncio.wait_for(http.request("POST", url, head, body), SEND_TIMEOUT_S)
    except TimeoutError:
        return None, f"no answer in {SEND_TIMEOUT_S:g} s"
    except Exception as exc:  # noqa: BLE001 — the runtime's fetch failures (refused, DNS, TLS)
        return None, f"{type(exc).__name__}: {exc}"[:200]
    return result.status, "" if 200 <= result.status < 300 else f"HTTP {result.status}"


class Drainer:
    def __init__(self, svc: Services, rng: random.Random | None = None) -> None:
        self.svc = svc
        self.rng = rng or random.Random()  # noqa: S311 — retry jitter, not a secret
        self.counts = {"sent": 0, "delivered": 0, "retried": 0, "dead": 0, "disabled": 0}

    async def run(self, now_ms: int) -> dict[str, int]:
        started = self.svc.clock()
        while self.counts["sent"] < MAX_SENDS and self.svc.clock() - started < BUDGET_S:
            now = max(now_ms, int(self.svc.clock() * 1000))
            room = min(CLAIM, MAX_SENDS - self.counts["sent"])  # the cap is a hard one
            batch = await store.claim_due(self.svc.db, now, LEASE_MS, room)
            if not batch:
                break
            await self._send_all(batch, now)
        return self.counts

    async def _send_all(self, batch: list[Row], now_ms: int) -> None:
        event_ids = sorted({d["event_id"] for d in batch})
        endpoint_ids = sorted({d["endpoint_id"] for d in batch})
        events, targets = await store.delivery_targets(self.svc.db, event_ids, endpoint_ids)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(delivery: Row) -> None:
            async with gate:
                await self._deliver(delivery, events, targets, now_ms)

        await asyncio.gather(*(one(d) for d in batch))

    async def _deliver(
        self, delivery: Row, events: dict[str, Row], targets: dict[str, Row], now_ms: int
    ) -> None:
        event, target = events.get(delivery["event_id"]), targets.get(delivery["endpoint_id"])
        if event is not None and target is not None and not target["enabled"]:
            return  # disabled since the claim: the lease runs out, it waits for re-enabling
        if event is None or target is None or target["deleted_at"]:
            reason = "endpoint deleted" if target is not None else "endpoint or event unknown"
            await self._failed(delivery, now_ms, (None, reason), 0, retry=False)
            return
        secret = signing.endpoint_secret(self.svc.settings.events_secret, target["endpoint_id"])
        body = payload(event)
        started = self.svc.clock()
        self.counts["sent"] += 1
        if self.svc.http is None:
            status, error = None, "no outbound HTTP client"
        else:
            head = headers(secret, event, body, int(started))
            status, error = await _post(self.svc.http, target["url"], head, body)
        took = int((self.svc.clock() - started) * 1000)
        if status is not None and 200 <= status < 300:
            await store.record_success(self.svc.db, delivery, now_ms, status, took)
            self.counts["delivered"] += 1
        else:
            await self._failed(delivery, now_ms, (status, error), took, retry=True)

    async def _failed(
        self, delivery: Row, now_ms: int, outcome: tuple[int | None, str], took: int, retry: bool
    ) -> None:
        settings = self.svc.settings
        delay = backoff.next_delay_s(delivery["attempts"], settings.events_retry_base_s, self.rng)
        retry_at = now_ms + int(delay * 1000)
        expired = retry_at - int(delivery["created_ms"]) > settings.events_max_age_s * 1000
        alive = retry and not expired
        disabled = await store.record_failure(
            self.svc.db, delivery, now_ms, outcome, retry_at if alive else None, took,
            settings.events_disable_after,
        )  # fmt: skip
        self.counts["retried" if alive else "dead"] += 1
        if disabled:
            self.counts["disabled"] += 1
            await _alert_disabled(self.svc, delivery["endpoint_id"], settings.events_disable_after)


async def _alert_disabled(svc: Services, endpoint_id: str, failures: int) -> None:
    message = f"Event endpoint {endpoint_id} disabled after {failures} failed deliveries in a row."
    finding = Finding(
        alert_id=f"event_endpoint_disabled:{endpoint_id}",
        kind="event_endpoint_disabled",
        subject=endpoint_id,
        firing=True,
        message=message,
        value=float(failures),
        threshold=float(failures),
    )
    await alerts.raise_alert(svc.db, finding, iso_ms(svc.clock() * 1000))
    log_event("warning", "event_endpoint_disabled", endpoint_id=endpoint_id)


async def run_deliveries(
    svc: Services, now_ms: int, rng: random.Random | None = None
) -> dict[str, int]:
    if not svc.settings.events_secret:
        # Nothing can be signed: leave every delivery pending rather than lease and lose it.
        log_event("warning", "events_not_configured", missing="EVENTS_SECRET")
        return {}
    counts = await Drainer(svc, rng).run(now_ms)
    if counts["sent"]:
        log_event("info", "events_delivered", **counts)
    return counts
