"""Staged rollouts: cohorts, triggers, safety evaluation, stage transitions.

State lives in D1 (ota_rollouts, ota_device_status); every step is idempotent so it can run
from the cron, from admin calls and from webhooks without coordination.
"""

import json
import secrets
from dataclasses import dataclass
from typing import Any

from rs1.emqx import Message, emqx_api
from rs1.logs import log_event
from rs1.mqtt.topics import device_topic
from rs1.ota import safety
from rs1.ota.bucketing import in_cohort
from rs1.ota.device_status import FAILURES, FINISHED, IN_PROGRESS, RANK
from rs1.ota.messages import InstallOffer
from rs1.ota.semver import parse_version
from rs1.ota.signed_url import signed_url
from rs1.services import Services
from rs1.storage.database import Database, Statement, StorageError
from rs1.timefmt import iso_ms

DEFAULT_MODEL = "RS-1"
ACTIVE, PAUSED, COMPLETED, ABORTED = "active", "paused", "completed", "aborted"
LIVE = (ACTIVE, PAUSED)
TRIGGER_BATCH = 250  # new triggers per evaluation: a stage never stampedes the fleet
MAX_TRIGGERS = 3  # sends of one trigger to a device that never acts on it (then it times out)
# A connection's connect event and the device's `state` announcement arrive within this: one
# trigger per connection, not two.
RESEND_GRACE_MS = 2_000
CANCELLABLE = ("pending", "triggered", "downloading", "verifying")


class RolloutActive(Exception):
    """The model already has a live rollout (one at a time: a unique index, migration 0007)."""


@dataclass(frozen=True)
class NewRollout:
    model: str
    version: str
    url: str
    firmware: dict[str, Any]  # its `firmware` row
    stages: list[dict[str, Any]]
    threshold: float
    timeout_minutes: float
    allow_downgrade: bool
    device_ids: list[str]


@dataclass(frozen=True)
class Stage:
    percent: float
    min_devices: int = 0
    soak_minutes: float = 0


@dataclass
class Rollout:
    rollout_id: str
    model: str
    version: str
    sha256: str
    size: int
    signature: str
    status: str
    stages: list[Stage]
    current_stage: int
    stage_started_at: int
    threshold: float
    timeout_minutes: float
    allow_downgrade: bool
    device_ids: list[str]

    @property
    def stage(self) -> Stage:
        return self.stages[self.current_stage]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Rollout":
        return cls(
            rollout_id=row["rollout_id"],
            model=row["model"],
            version=row["firmware_version"],
            sha256=row["firmware_sha256"],
            size=int(row["firmware_size"] or 0),
            signature=row["firmware_signature"] or "",
            status=row["status"],
            stages=[Stage(**s) for s in json.loads(row["stages_json"])],
            current_stage=int(row["current_stage"]),
            stage_started_at=int(row["stage_started_at"] or 0),
            threshold=float(row["failure_threshold"]),
            timeout_minutes=float(row["timeout_minutes"]),
            allow_downgrade=bool(row["allow_downgrade"]),
            device_ids=json.loads(row["device_ids_json"]),
        )


# --- queries -------------------------------------------------------------------------------


async def load(db: Database, rollout_id: str) -> Rollout | None:
    row = await db.first("SELECT * FROM ota_rollouts WHERE rollout_id = ?", rollout_id)
    return None if row is None else Rollout.from_row(row)


async def live_rollouts(db: Database, model: str | None = None) -> list[Rollout]:
    rows = await db.all(
        "SELECT * FROM ota_rollouts WHERE status IN (?, ?) AND (? IS NULL OR model = ?) "
        "ORDER BY created_at",
        *LIVE,
        model,
        model,
    )
    return [Rollout.from_row(r) for r in rows]


async def status_counts(db: Database, rollout_id: str) -> dict[str, int]:
    rows = await db.all(
        "SELECT status, COUNT(*) AS n FROM ota_device_status WHERE rollout_id = ? GROUP BY status",
        rollout_id,
    )
    return {r["status"]: int(r["n"]) for r in rows}


def failure_stats(counts: dict[str, int]) -> tuple[int, int]:
    failures = sum(counts.get(s, 0) for s in FAILURES)
    finished = sum(counts.get(s, 0) for s in FINISHED)
    return failures, finished


# --- eligibility -----------------------------------------------------------------------------


def _older(a: str | None, b: str) -> bool | None:
    """a < b as versions; None when a is unknown or not a version."""
    try:
        return parse_version(a) < parse_version(b) if a else None
    except ValueError:
        return None


def skip_reason(rollout: Rollout, installed: str | None, min_version: str | None) -> str | None:
    if installed == rollout.version:
        return "already_installed"
    if not rollout.allow_downgrade and _older(rollout.version, installed or "") is True:
        return "downgrade_refused"
    if min_version and _older(installed, min_version) is True:
        return "below_min_version"
    return None


def wanted(rollout: Rollout, device_id: str) -> bool:
    return device_id in rollout.device_ids or in_cohort(
        rollout.rollout_id, device_id, rollout.stage.percent
    )


# --- triggers ------------------------------------------------------------------------------


def trigger_message(svc: Services, rollout: Rollout, device_id: str, now_s: float) -> Message:
    expiry = int(now_s) + svc.settings.signed_url_expiry
    url = signed_url(
        svc.settings.ota_base_url,
        svc.settings.signing_key,
        device_id,
        rollout.model,
        rollout.version,
        rollout.sha256,
        expiry,
    )
    return Message(device_topic(device_id, "ota", "trigger"), offer_body(rollout, url))


def offer_body(rollout: Rollout, url: str) -> dict[str, Any]:
    offer = InstallOffer(
        rollout_id=rollout.rollout_id,
        model=rollout.model,
        version=rollout.version,
        url=url,
        sha256=rollout.sha256,
        signature=rollout.signature,
        size=rollout.size,
    )
    return offer.model_dump(mode="json")


async def _publish(svc: Services, messages: list[Message]) -> list[bool]:
    """Per message: reached a subscriber? (EMQX answers no_matching_subscribers otherwise.)"""
    if not messages:
        return []
    try:
        return await emqx_api(svc).publish_bulk(messages)
    except Exception as exc:  # noqa: BLE001 — devices stay pending and are retried later
        log_event("error", "ota_trigger_publish_failed", count=len(messages), exception=repr(exc))
        return [False] * len(messages)


def _status_row(rollout: Rollout, device_id: str, status: str, from_version: str | None,
                now_ms: int, error: str | None = None) -> Statement:  # fmt: skip
    triggered = status == "triggered"
    return Statement(
        "INSERT INTO ota_device_status (device_id, rollout_id, status, status_rank, stage, "
        "from_version, error_message, updated_at, triggered_at, progress_at, trigger_count) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, rollout_id) DO UPDATE "
        "SET status = excluded.status, status_rank = excluded.status_rank, "
        "error_message = excluded.error_message, "
        "from_version = COALESCE(excluded.from_version, ota_device_status.from_version), "
        "updated_at = excluded.updated_at, triggered_at = excluded.triggered_at, "
        "progress_at = excluded.progress_at, "
        "trigger_count = ota_device_status.trigger_count + excluded.trigger_count "
        "WHERE ota_device_status.status = 'pending'",
        (device_id, rollout.rollout_id, status, RANK[status], rollout.current_stage,
         from_version, error, iso_ms(now_ms), now_ms if triggered else None,
         now_ms if triggered else None, int(triggered)),
    )  # fmt: skip


async def enrol_cohort(svc: Services, rollout: Rollout, now_ms: int) -> int:
    """Add this stage's new cohort members: trigger online ones (at most TRIGGER_BATCH),
    mark offline ones pending (they get the trigger when they come back), skip devices that
    must not take this image. Also re-triggers pending devices that are online now."""
    devices = await svc.db.all(
        "SELECT d.device_id, d.firmware_version, d.online, s.status FROM devices d "
        "LEFT JOIN ota_device_status s ON s.device_id = d.device_id AND s.rollout_id = ? "
        "WHERE d.status = 'active' AND COALESCE(d.model, ?) = ? "
        "AND (s.status IS NULL OR s.status = 'pending') ORDER BY d.device_id",
        rollout.rollout_id,
        DEFAULT_MODEL,
        rollout.model,
    )
    min_version = await _min_version(svc.db, rollout)
    statements: list[Statement] = []
    messages: list[Message] = []
    rows: list[tuple[str, str, str | None]] = []
    for d in devices:
        if not wanted(rollout, d["device_id"]):
            continue
        reason = skip_reason(rollout, d["firmware_version"], min_version)
        if reason:  # also a pending device that has since come to run the target
            statements.append(_status_row(rollout, d["device_id"], "skipped",
                                          d["firmware_version"], now_ms, reason))  # fmt: skip
            continue
        if d["online"] and len(messages) < TRIGGER_BATCH:
            messages.append(trigger_message(svc, rollout, d["device_id"], now_ms / 1000))
            status = "triggered"
        elif d["status"] is None:
            status = "pending"
        else:
            continue
        rows.append((d["device_id"], status, d["firmware_version"]))
    delivered = iter(await _publish(svc, messages))
    triggered: list[str] = []
    for device_id, status, version in rows:
        # Undelivered triggers stay pending: the device's return (or the offer) retries them.
        if status == "triggered" and not next(delivered):
            status = "pending"
        if status == "triggered":
            triggered.append(device_id)
        statements.append(_status_row(rollout, device_id, status, version, now_ms))
    for start in range(0, len(statements), 50):
        await svc.db.batch(statements[start : start + 50])
    await _cancel_if_aborted(svc, rollout, triggered, now_ms)
    return len(triggered)


async def top_up(svc: Services, rollout: Rollout, counts: dict[str, int], now_ms: int) -> int:
    """Keep about TRIGGER_BATCH devices in flight: as devices finish, trigger the pending
    ones that are online (throttled earlier) without rescanning the whole fleet."""
    room = TRIGGER_BATCH - sum(counts.get(s, 0) for s in IN_PROGRESS)
    if room <= 0 or not counts.get("pending"):
        return 0
    rows = await svc.db.all(
        "SELECT s.device_id FROM ota_device_status s JOIN devices d ON d.device_id = s.device_id "
        "WHERE s.rollout_id = ? AND s.status = 'pending' AND d.online = 1 "
        "AND d.firmware_version IS NOT ? LIMIT ?",
        rollout.rollout_id,
        rollout.version,
        room,
    )
    ids = [r["device_id"] for r in rows]
    messages = [trigger_message(svc, rollout, d, now_ms / 1000) for d in ids]
    delivered = await _publish(svc, messages)
    statements = [
        _status_row(rollout, device_id, "triggered", None, now_ms)
        for device_id, ok in zip(ids, delivered, strict=True)
        if ok
    ]
    if statements:
        await svc.db.batch(statements)
    await _cancel_if_aborted(svc, rollout, [d for d, ok in zip(ids, delivered, strict=True) if ok],
                             now_ms)  # fmt: skip
    return len(statements)


async def _min_version(db: Database, rollout: Rollout) -> str | None:
    row = await db.first(
        "SELECT min_version FROM firmware WHERE model = ? AND version = ?",
        rollout.model,
        rollout.version,
    )
    return None if row is None else row["min_version"]


def _sendable(s: str = "", cap: str = "?", before: str = "?") -> str:
    """A trigger may be (re)sent to a device row in this state (`s`: the table prefix). Only
    a row still `triggered` is re-sent: a device that reported any progress has moved on."""
    return (
        f"({s}status = 'pending' OR ({s}status = 'triggered' AND {s}trigger_count < {cap} "
        f"AND {s}triggered_at < {before}))"
    )


# ...and never to a device whose `state` already shows the target version (its progress
# reports may still be on their way: EMQX keeps no order between a device's webhooks).
_NOT_INSTALLED = (
    "NOT EXISTS (SELECT 1 FROM devices d JOIN ota_rollouts r ON r.rollout_id = ?2 "
    "WHERE d.device_id = ?1 AND d.firmware_version = r.firmware_version)"
)


async def trigger_if_pending(svc: Services, device_id: str, now_ms: int) -> int:
    """A device came online: send any trigger it missed while offline — also one it was sent
    but never acted on (a QoS 1 message to a clean session is lost when the link drops), at
    most MAX_TRIGGERS times; devices drop a repeat of a job they already run. Each send is
    claimed in D1 first, so the connect event and the `state` announcement of one connection
    (which may run at once) send it once."""
    rows = await svc.db.all(
        "SELECT r.*, s.status AS device_status, s.triggered_at AS device_triggered_at, "
        "s.progress_at AS device_progress_at FROM ota_device_status s JOIN ota_rollouts r "
        f"ON r.rollout_id = s.rollout_id WHERE s.device_id = ? AND {_sendable('s.')} "
        "AND r.status IN (?, ?)",
        device_id,
        MAX_TRIGGERS,
        now_ms - RESEND_GRACE_MS,
        ACTIVE,
        COMPLETED,
    )
    sent = 0
    for row in rows:
        rollout = Rollout.from_row(row)
        if not await _claim_send(svc.db, rollout.rollout_id, device_id, now_ms):
            continue  # another webhook of this connection sends it
        if all(await _publish(svc, [trigger_message(svc, rollout, device_id, now_ms / 1000)])):
            sent += 1
            await _cancel_if_aborted(svc, rollout, [device_id], now_ms)
        else:  # nobody subscribed yet: give the claim back for the device's next announcement
            await _release_send(svc.db, row, device_id, now_ms)
    return sent


async def _claim_send(db: Database, rollout_id: str, device_id: str, now_ms: int) -> bool:
    result = await db.run(
        "UPDATE ota_device_status SET status = 'triggered', status_rank = ?5, triggered_at = ?6, "
        "progress_at = ?6, updated_at = ?7, trigger_count = trigger_count + 1 "
        f"WHERE device_id = ?1 AND rollout_id = ?2 AND {_sendable('', '?3', '?4')} "
        f"AND {_NOT_INSTALLED}",
        device_id, rollout_id, MAX_TRIGGERS, now_ms - RESEND_GRACE_MS,
        RANK["triggered"], now_ms, iso_ms(now_ms),
    )  # fmt: skip
    return result.changes == 1


async def _release_send(db: Database, row: dict[str, Any], device_id: str, now_ms: int) -> None:
    status = row["device_status"]
    await db.run(
        "UPDATE ota_device_status SET status = ?, status_rank = ?, triggered_at = ?, "
        "progress_at = ?, trigger_count = trigger_count - 1 WHERE device_id = ? "
        "AND rollout_id = ? AND status = 'triggered' AND triggered_at = ?",
        status, RANK[status], row["device_triggered_at"], row["device_progress_at"],
        device_id, row["rollout_id"], now_ms,
    )  # fmt: skip


# --- lifecycle -----------------------------------------------------------------------------


async def create(svc: Services, new: NewRollout, now_ms: int) -> Rollout:
    """Insert the rollout and run its first evaluation (the first stage's triggers). Racing
    creates for one model: the database lets one in, the others get RolloutActive."""
    rollout_id = new_rollout_id()
    try:
        await svc.db.run(
            "INSERT INTO ota_rollouts (rollout_id, firmware_version, firmware_url, "
            "firmware_sha256, status, target_percent, model, firmware_size, firmware_signature, "
            "stages_json, current_stage, stage_started_at, failure_threshold, timeout_minutes, "
            "allow_downgrade, device_ids_json, updated_at) "
            "VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
            rollout_id, new.version, new.url, new.firmware["sha256"],
            round(new.stages[0]["percent"]), new.model, new.firmware["size"],
            new.firmware["signature"], json.dumps(new.stages), now_ms, new.threshold,
            new.timeout_minutes, int(new.allow_downgrade), json.dumps(new.device_ids), now_ms,
        )  # fmt: skip
    except StorageError as exc:
        if exc.is_unique_violation:
            raise RolloutActive(new.model) from None
        raise
    rollout = await load(svc.db, rollout_id)
    assert rollout is not None  # just inserted
    await evaluate(svc, rollout, now_ms)
    return rollout


# Which statuses each one may be entered from: a transition that lost a race (a pause
# after the rollout completed, a second abort) changes nothing.
_FROM = {PAUSED: LIVE, ACTIVE: LIVE, ABORTED: LIVE, COMPLETED: (ACTIVE,)}


async def set_status(db: Database, rollout_id: str, status: str, reason: str, now_ms: int) -> bool:
    """Move a live rollout to `status`; False when it was no longer in a status that allows it."""
    allowed = _FROM[status]
    result = await db.run(
        "UPDATE ota_rollouts SET status = ?, status_reason = ?, updated_at = ? "
        f"WHERE rollout_id = ? AND status IN ({','.join('?' * len(allowed))})",
        status,
        reason,
        now_ms,
        rollout_id,
        *allowed,
    )
    return result.changes == 1


async def abort(svc: Services, rollout: Rollout, reason: str, now_ms: int) -> None:
    """No new triggers; devices that have not started installing are told to cancel. Only the
    call that made the abort sends the cancels and raises the alert."""
    if not await set_status(svc.db, rollout.rollout_id, ABORTED, reason, now_ms):
        return
    marks = ",".join("?" * len(CANCELLABLE))
    rows = await svc.db.all(
        f"SELECT device_id FROM ota_device_status WHERE rollout_id = ? AND status IN ({marks})",
        rollout.rollout_id,
        *CANCELLABLE,
    )
    await _cancel(svc, rollout, [r["device_id"] for r in rows])
    await svc.db.run(
        f"UPDATE ota_device_status SET status = 'cancelled', status_rank = 9, updated_at = ? "
        f"WHERE rollout_id = ? AND status IN ({marks})",
        iso_ms(now_ms),
        rollout.rollout_id,
        *CANCELLABLE,
    )
    await _raise_alert(svc.db, rollout, reason, now_ms)
    log_event("warning", "rollout_aborted", rollout_id=rollout.rollout_id, reason=reason)


async def _cancel(svc: Services, rollout: Rollout, device_ids: list[str]) -> None:
    cancel = {"action": "cancel", "rollout_id": rollout.rollout_id}
    messages = [Message(device_topic(d, "ota", "trigger"), cancel) for d in device_ids]
    for start in range(0, len(messages), 500):
        await _publish(svc, messages[start : start + 500])


async def _cancel_if_aborted(
    svc: Services, rollout: Rollout, device_ids: list[str], now_ms: int
) -> None:
    """Triggers just published race an abort, which cancels the rows it reads: if the rollout
    was aborted meanwhile, these devices may not have had rows yet, so cancel them here. (The
    abort's read sees our rows, or this read sees the abort: one of the two cancels them.)"""
    if not device_ids:
        return
    row = await svc.db.first(
        "SELECT status FROM ota_rollouts WHERE rollout_id = ?", rollout.rollout_id
    )
    if row is None or row["status"] != ABORTED:
        return
    await _cancel(svc, rollout, device_ids)
    marks = ",".join("?" * len(CANCELLABLE))
    for start in range(0, len(device_ids), 90):
        chunk = device_ids[start : start + 90]
        await svc.db.run(
            "UPDATE ota_device_status SET status = 'cancelled', status_rank = 9, updated_at = ? "
            f"WHERE rollout_id = ? AND status IN ({marks}) "
            f"AND device_id IN ({','.join('?' * len(chunk))})",
            iso_ms(now_ms), rollout.rollout_id, *CANCELLABLE, *chunk,
        )  # fmt: skip


async def _raise_alert(db: Database, rollout: Rollout, reason: str, now_ms: int) -> None:
    now = iso_ms(now_ms)
    await db.run(
        "INSERT INTO alerts (alert_id, kind, subject, status, message, value, threshold, "
        "opened_at, updated_at) VALUES (?, 'rollout_aborted', ?, 'open', ?, NULL, ?, ?, ?) "
        "ON CONFLICT (alert_id) DO UPDATE SET status = 'open', message = excluded.message, "
        "updated_at = excluded.updated_at, resolved_at = NULL",
        f"rollout_aborted:{rollout.rollout_id}",
        rollout.rollout_id,
        f"rollout {rollout.rollout_id} ({rollout.model} {rollout.version}) aborted: {reason}",
        rollout.threshold,
        now,
        now,
    )


async def advance(svc: Services, rollout: Rollout, now_ms: int, reason: str) -> str | None:
    """Next stage (new cohort members are triggered), or completed after the last one; None
    when another caller moved the rollout first (this call changed nothing)."""
    if rollout.current_stage + 1 >= len(rollout.stages):
        done = await set_status(svc.db, rollout.rollout_id, COMPLETED, reason, now_ms)
        return COMPLETED if done else None
    stage = rollout.current_stage + 1
    # Compare-and-set on the stage: the cron and an admin's advance racing move it once.
    result = await svc.db.run(
        "UPDATE ota_rollouts SET current_stage = ?, stage_started_at = ?, target_percent = ?, "
        "status_reason = ?, updated_at = ? WHERE rollout_id = ? AND current_stage = ? "
        "AND status = ?",
        stage, now_ms, round(rollout.stages[stage].percent), reason, now_ms,
        rollout.rollout_id, rollout.current_stage, ACTIVE,
    )  # fmt: skip
    if result.changes == 0:
        return None  # someone else moved it; their pass enrols the new cohort
    rollout.current_stage, rollout.stage_started_at = stage, now_ms
    await enrol_cohort(svc, rollout, now_ms)
    return ACTIVE


async def _time_out(svc: Services, rollout: Rollout, now_ms: int) -> int:
    marks = ",".join("?" * len(IN_PROGRESS))
    result = await svc.db.run(
        "UPDATE ota_device_status SET status = 'timed_out', status_rank = 9, updated_at = ?, "
        f"error_message = 'no report within timeout' WHERE rollout_id = ? AND status IN ({marks}) "
        "AND COALESCE(progress_at, triggered_at, 0) < ?",
        iso_ms(now_ms),
        rollout.rollout_id,
        *IN_PROGRESS,
        now_ms - int(rollout.timeout_minutes * 60_000),
    )
    return result.changes


async def evaluate(svc: Services, rollout: Rollout, now_ms: int, enrol: bool = True) -> str:
    """One pass of the safety rules; returns the rollout status afterwards."""
    if rollout.status != ACTIVE:
        return rollout.status
    counts = await status_counts(svc.db, rollout.rollout_id)
    failures, finished = failure_stats(counts)
    if safety.should_abort(failures, finished, rollout.threshold):
        reason = f"failure rate {failures}/{finished}: 95% lower bound above {rollout.threshold}"
        await abort(svc, rollout, reason, now_ms)
        return ABORTED
    if enrol:
        await enrol_cohort(svc, rollout, now_ms)
    else:
        await top_up(svc, rollout, counts, now_ms)
    counts = await status_counts(svc.db, rollout.rollout_id)
    # Offline (pending) devices do not hold an intermediate stage — they get the trigger when
    # they return — but the rollout is complete only when nobody is left waiting.
    open_rows = sum(counts.get(s, 0) for s in IN_PROGRESS)
    soaked = now_ms - rollout.stage_started_at >= rollout.stage.soak_minutes * 60_000
    last = rollout.current_stage + 1 == len(rollout.stages)
    if open_rows == 0 and last and soaked and not counts.get("pending"):
        # Nothing riskier follows the last stage: finishing it needs no statistical advance.
        await set_status(svc.db, rollout.rollout_id, COMPLETED, "all devices finished", now_ms)
        return COMPLETED
    if (
        open_rows == 0
        and soaked
        and finished >= rollout.stage.min_devices
        and safety.may_advance(failures, finished, rollout.threshold)
    ):
        moved = await advance(svc, rollout, now_ms, "auto: upper bound below threshold")
        return moved or ACTIVE
    return ACTIVE


async def tick(svc: Services, now_ms: int) -> dict[str, str]:
    """The cron's pass over live rollouts: timeouts, then evaluation."""
    result = {}
    for rollout in await live_rollouts(svc.db):
        if rollout.status == ACTIVE:
            await _time_out(svc, rollout, now_ms)
        result[rollout.rollout_id] = await evaluate(svc, rollout, now_ms)
    # Devices of an aborted rollout that were already installing can still go silent: time
    # them out too, so the rollout's record shows them as failures.
    for row in await svc.db.all(
        "SELECT r.* FROM ota_rollouts r WHERE r.status = ? AND EXISTS (SELECT 1 FROM "
        "ota_device_status s WHERE s.rollout_id = r.rollout_id AND s.status_rank BETWEEN 1 AND 5)",
        ABORTED,
    ):
        await _time_out(svc, Rollout.from_row(row), now_ms)
    return result


def new_rollout_id() -> str:
    return "r-" + secrets.token_hex(8)
