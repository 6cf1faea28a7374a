"""A device that installed the rollout's version is a success in every delivery order.

EMQX 5 keeps no order between a device's connect event, its `state` and its `ota/status`
deliveries, and workerd runs them at once. This state machine delivers one update episode's
webhooks (posted to the real telemetry app over the SQLite store) in every order hypothesis
finds, with the clock moving in between and the cron running. The device already runs the
new version: a trigger re-sent to it is answered `already_installed`, as the firmware does.
"""

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from rs1contract.topics import device_topic

from helpers import NOW, Clock, enroll_one, fresh_db, unit_services
from rs1.apps.telemetry import build_app
from rs1.messages import ApiRequest
from rs1.ota import rollout_store as status_store
from rs1.ota import rollouts as ro
from rs1.ota.device_status import DEVICE_REPORTED, RANK, accepts
from rs1.services import HttpResult

T0 = int(NOW * 1000)
TARGET, OLD = "2.0.0", "1.0.0"


class Device:
    """EMQX's publish API with the device behind it: a trigger for the version it runs is
    answered with `failed / already_installed` (a delivery that joins the shuffled pool)."""

    def __init__(self, machine: "UpdateEpisode") -> None:
        self.machine = machine
        self.triggers = 0

    async def request(self, method, url, headers, body=None) -> HttpResult:
        messages = json.loads(body)
        messages = messages if isinstance(messages, list) else [messages]
        for m in messages:
            payload = json.loads(m["payload"])
            if m["topic"].endswith("/ota/trigger") and payload.get("action") != "cancel":
                self.triggers += 1
                self.machine.pending.append(
                    self.machine.status("failed", error="already_installed")
                )
        answer = [{"id": "x"} for _ in messages]
        return HttpResult(200, json.dumps(answer if "bulk" in url else answer[0]).encode())


class UpdateEpisode(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.svc = unit_services(fresh_db(), self.clock)
        self.svc.http = Device(self)
        self.app = build_app()
        self.me = enroll_one(self.svc.db, "AA:BB:CC:00:00:42")
        self.pending: list[tuple[str, dict]] = []
        self.progress_applied = False
        self.triggers_after_progress = 0
        self._seed()

    def _run(self, coro):
        return asyncio.run(coro)

    def _seed(self) -> None:
        db = self.svc.db
        self._run(
            db.run(
                "UPDATE devices SET firmware_version = ?, online = 1 WHERE device_id = ?",
                OLD,
                self.me,
            )
        )
        self._run(
            db.run(
                "INSERT INTO ota_rollouts (rollout_id, firmware_version, firmware_url, "
                "firmware_sha256, firmware_size, firmware_signature, status, target_percent, "
                "stages_json, stage_started_at, timeout_minutes) VALUES ('r-1', ?, '', ?, "
                "4096, 'c2ln', 'active', 100, '[{\"percent\": 100}]', ?, 60)",
                TARGET,
                "ab" * 32,
                T0,
            )
        )
        # The trigger went out at T0 and the device acted on it at once.
        self._run(
            db.run(
                "INSERT INTO ota_device_status (device_id, rollout_id, status, status_rank, "
                "stage, from_version, triggered_at, progress_at, trigger_count) "
                "VALUES (?, 'r-1', 'triggered', 1, 0, ?, ?, ?, 1)",
                self.me,
                OLD,
                T0,
                T0,
            )
        )

    def envelope(self, kind: str, payload: dict, at: int) -> dict:
        topic = device_topic(self.me, *kind.split("/"))
        body = {"clientid": self.me, "username": self.me, "topic": topic, "qos": 1}
        return {**body, "payload": json.dumps(payload), "timestamp": at, "publish_received_at": at}

    def status(self, status: str, **extra) -> tuple[str, dict]:
        report = {"rollout_id": "r-1", "status": status, "version": TARGET, **extra}
        at = int(self.clock() * 1000)
        return "/webhook/ota-status", self.envelope("ota/status", report, at)

    @initialize(reports_success=st.booleans())
    def episode(self, reports_success: bool) -> None:
        steps = [self.status("downloading", progress=p) for p in (30, 100)]
        steps += [self.status(s) for s in ("verifying", "installing", "rebooting")]
        steps.append(("/webhook/device-offline", {"clientid": self.me, "timestamp": T0 + 10}))
        connected = {"clientid": self.me, "username": self.me, "timestamp": T0 + 20}
        steps.append(("/webhook/device-connected", {**connected, "connected_at": T0 + 20}))
        state = {"online": True, "firmware_version": TARGET, "uptime_s": 3}
        steps.append(("/webhook/device-state", self.envelope("state", state, T0 + 21)))
        if reports_success:
            steps.append(self.status("success"))
        self.pending = steps

    def post(self, path: str, body: dict) -> None:
        headers = {"x-webhook-secret": "test-webhook-secret", "content-type": "application/json"}
        request = ApiRequest("POST", path, headers=headers, body=json.dumps(body).encode())
        before = self.svc.http.triggers
        response = self._run(self.app.handle(request, self.svc))
        assert response.status == 200, (path, response.status, response.body)
        answer = json.loads(response.body)
        if self.progress_applied:
            self.triggers_after_progress += self.svc.http.triggers - before
        if path == "/webhook/ota-status" and answer.get("applied"):
            self.progress_applied = True

    @precondition(lambda self: self.pending)
    @rule(pick=st.integers(0, 1_000), gap_ms=st.integers(0, 3_000))
    def deliver(self, pick: int, gap_ms: int) -> None:
        self.clock.now += gap_ms / 1000
        self.post(*self.pending.pop(pick % len(self.pending)))

    @rule(gap_ms=st.integers(0, 3_000))
    def cron(self, gap_ms: int) -> None:
        self.clock.now += gap_ms / 1000
        self._run(ro.tick(self.svc, int(self.clock() * 1000)))

    def row(self) -> dict:
        return self._run(
            self.svc.db.first(
                "SELECT status, error_message FROM ota_device_status WHERE device_id = ?", self.me
            )
        )

    @invariant()
    def never_a_failure(self) -> None:
        assert self.row()["status"] not in ("failed", "timed_out"), self.row()

    @invariant()
    def no_resend_after_progress(self) -> None:
        assert self.triggers_after_progress == 0

    def teardown(self) -> None:
        while self.pending:
            self.post(*self.pending.pop(0))
        assert self.row()["status"] == "success", self.row()
        counts = self._run(ro.status_counts(self.svc.db, "r-1"))
        assert ro.failure_stats(counts) == (0, 1)


UpdateEpisode.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_every_delivery_order_ends_in_success = UpdateEpisode.TestCase


progress = st.one_of(st.none(), st.integers(0, 100))


@settings(max_examples=300, deadline=None)
@given(
    current=st.sampled_from(sorted(RANK)),
    current_progress=progress,
    new=st.sampled_from(DEVICE_REPORTED),
    new_progress=progress,
)
def test_the_sql_transition_is_the_state_machine(current, current_progress, new, new_progress):
    """status_store applies a report in SQL exactly when device_status.accepts() says so."""
    db = fresh_db()
    me = enroll_one(db, "AA:BB:CC:00:00:43")
    asyncio.run(
        db.run(
            "INSERT INTO ota_rollouts (rollout_id, firmware_version, firmware_url, "
            "firmware_sha256) VALUES ('r-1', ?, '', '')",
            TARGET,
        )
    )
    asyncio.run(
        db.run(
            "INSERT INTO ota_device_status (device_id, rollout_id, status, status_rank, progress)"
            " VALUES (?, 'r-1', ?, ?, ?)",
            me,
            current,
            RANK[current],
            current_progress,
        )
    )
    applied = asyncio.run(status_store.record_report(db, me, "r-1", new, new_progress, None, T0))
    assert applied == accepts(current, current_progress, new, new_progress)
