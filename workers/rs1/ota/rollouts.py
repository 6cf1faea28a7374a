"""Staged rollouts: cohorts, triggers, safety evaluation, stage transitions.

State lives in D1 (rs1.ota.rollout_store); every step is idempotent so it can run from the
cron, from admin calls and from webhooks without coordination.
"""

import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rs1contract.ota import InstallOffer
from rs1contract.semver import parse_version
from rs1contract.topics import device_topic

from rs1.devices import cohort_store
from rs1.emqx import Message, emqx_api
from rs1.errors import Conflict, Unprocessable
from rs1.logs import log_event
from rs1.monitoring import store as monitoring_store
from rs1.monitoring.checks import Finding
from rs1.ota import firmware_store, safety
from rs1.ota import rollout_store as store
from rs1.ota.bucketing import in_cohort
from rs1.ota.device_status import FAILURES, FINISHED, IN_PROGRESS
from rs1.ota.policy import WINDOW_WAIT_MS, Health, Policy
from rs1.ota.rollout_store import ABORTED, ACTIVE, COMPLETED, LIVE, PAUSED, Gates, status_counts
from rs1.ota.signed_url import signed_url
from rs1.query import Atom, parse_query
from rs1.query.render import render
from rs1.services import Services
from rs1.settings import Settings
from rs1.storage.database import Database, Row, Statement, StorageError
from rs1.timefmt import iso_ms

DEFAULT_MODEL = "RS-1"
TRIGGER_BATCH = 250  # new triggers per evaluation: a stage never stampedes the fleet
MAX_TRIGGERS = 3  # sends of one trigger to a device that never acts on it (then it times out)
# A connection's connect event and the device's `state` announcement arrive within this: one
# trigger per connection, not two.
RESEND_GRACE_MS = 2_000
# A row enrolled this long after its stage began (or the rollout's start_at) is a device that
# came to match the cohort while the rollout ran (the first pass enrols every match at once;
# a failed first pass is repeated by the next minute's cron).
ENROL_GRACE_MS = 90_000
# Waiting for the window or the rate budget, not finished: these hold a stage.
IN_FLIGHT = tuple(s for s in IN_PROGRESS if s != "downloaded")
SOAK_FAILED, SOAKING = "soak_failed", "soaking"


class RolloutActive(Conflict):
    """The model already has a live rollout (one at a time: a unique index, migration 0007)."""

    code = "rollout_active"

    def __init__(self, model: str, live: "Rollout | None" = None) -> None:
        # Which rollout holds the model, so a client whose create answered 503 after the
        # insert committed can tell its own rollout from someone else's, and carry on.
        details = None if live is None else {"rollout_id": live.rollout_id,
                                             "firmware_version": live.version}  # fmt: skip
        super().__init__(f"{model} already has an active rollout.", details=details)
        self.model = model


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
    policy: Policy = field(default_factory=Policy)
    cohort_query: str | None = None
    rollback_of: str | None = None


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
    policy: Policy
    cohort_query: str | None
    cohort_percent: float
    security_version: int
    soak_ms: int
    rollback_of: str | None

    @property
    def stage(self) -> Stage:
        return self.stages[self.current_stage]

    def started(self, now_ms: int) -> bool:
        start = self.policy.start_at_ms
        return start is None or now_ms >= start

    def enrols_late(self, now_ms: int) -> bool:
        """Would a row enrolled now be a device that joined the cohort while it ran?"""
        began = max(self.stage_started_at, self.policy.start_at_ms or 0)
        return now_ms > began + ENROL_GRACE_MS

    @classmethod
    def from_row(cls, row: Row) -> "Rollout":
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
            policy=Policy.from_stored(row["policy_json"]),
            cohort_query=row["cohort_query"],
            cohort_percent=float(row["cohort_percent"] or 0),
            security_version=int(row["security_version"] or 0),
            soak_ms=int(row["soak_ms"] or 0),
            rollback_of=row["rollback_of"],
        )


# --- queries -------------------------------------------------------------------------------


async def load(db: Database, rollout_id: str) -> Rollout | None:
    row = await store.get_rollout(db, rollout_id)
    return None if row is None else Rollout.from_row(row)


async def live_rollouts(db: Database, model: str | None = None) -> list[Rollout]:
    return [Rollout.from_row(r) for r in await store.live_rollouts(db, model)]


def failure_stats(counts: dict[str, int]) -> tuple[int, int]:
    """(failures, finished) for the Wilson policy: a failed soak is a failure, and a device
    still soaking has not finished."""
    failures = sum(counts.get(s, 0) for s in (*FAILURES, SOAK_FAILED))
    finished = sum(counts.get(s, 0) for s in (*FINISHED, SOAK_FAILED))
    return failures, finished


# --- eligibility -----------------------------------------------------------------------------


def _older(a: str | None, b: str) -> bool | None:
    """a < b as versions; None when a is unknown or not a version."""
    try:
        return parse_version(a) < parse_version(b) if a else None
    except ValueError:
        return None


def skip_reason(
    rollout: Rollout,
    installed: str | None,
    min_version: str | None,
    installed_security: int | None = None,
) -> str | None:
    """Why a device must not take this rollout's image, or None. `installed_security`: the
    security version of the release it runs, when that release is known."""
    if installed == rollout.version:
        return "already_installed"
    if installed_security is not None and installed_security > rollout.security_version:
        return "security_downgrade"  # never, not even with allow_downgrade or as a rollback
    if not rollout.allow_downgrade and _older(rollout.version, installed or "") is True:
        return "downgrade_refused"
    if min_version and _older(installed, min_version) is True:
        return "below_min_version"
    return None


def wanted(rollout: Rollout, device_id: str) -> bool:
    """In the rollout's share of the fleet (its cohort query is applied in SQL, before)."""
    return device_id in rollout.device_ids or in_cohort(
        rollout.rollout_id, device_id, rollout.cohort_percent
    )


# --- offers and triggers -------------------------------------------------------------------


def signed_offer(
    settings: Settings, rollout: Rollout, device_id: str, now_s: float
) -> dict[str, Any]:
    """The install offer for one device, its download URL signed for that device and valid
    for signed_url_expiry seconds: what a trigger carries and what the pull path answers."""
    expiry = int(now_s) + settings.signed_url_expiry
    url = signed_url(
        settings.ota_base_url,
        settings.signing_key,
        device_id,
        rollout.model,
        rollout.version,
        rollout.sha256,
        expiry,
    )
    policy = rollout.policy
    offer = InstallOffer(
        rollout_id=rollout.rollout_id,
        model=rollout.model,
        version=rollout.version,
        url=url,
        sha256=rollout.sha256,
        signature=rollout.signature,
        size=rollout.size,
        security_version=rollout.security_version,
        jitter_s=policy.jitter_s,
        install=policy.install,
        window=policy.window,
        rollback=rollout.rollback_of is not None,
    )
    return offer.model_dump(mode="json")


def trigger_message(svc: Services, rollout: Rollout, device_id: str, now_s: float) -> Message:
    offer = signed_offer(svc.settings, rollout, device_id, now_s)
    return Message(device_topic(device_id, "ota", "trigger"), offer)


async def pending_offer(db: Database, device_id: str, model: str) -> Rollout | None:
    """A rollout (live or completed) that already triggered this device and is unfinished."""
    row = await store.pending_offer(db, device_id, model)
    return None if row is None else Rollout.from_row(row)


async def offer_for(svc: Services, device_id: str, model: str, now_ms: int) -> Rollout | None:
    """The rollout to offer a device that asks: one that triggered it already, or else an
    active rollout whose cohort it belongs to (a device that missed its trigger entirely joins
    it here), within that rollout's rate and window."""
    rollout = await pending_offer(svc.db, device_id, model)
    if rollout is not None:
        return rollout
    for rollout in await live_rollouts(svc.db, model):
        if rollout.status != ACTIVE or not rollout.started(now_ms):
            continue
        if not wanted(rollout, device_id):
            continue
        await enrol_cohort(svc, rollout, now_ms)
        if (triggered := await pending_offer(svc.db, device_id, model)) is not None:
            return triggered  # the enrolment's own trigger
        gates = await _gates(svc.db, rollout)
        before_ms = now_ms - RESEND_GRACE_MS
        if await store.claim_send(svc.db, rollout.rollout_id, device_id, MAX_TRIGGERS,
                                  before_ms, now_ms, gates):  # fmt: skip
            return rollout
    return None


async def _publish(svc: Services, messages: list[Message]) -> list[bool]:
    """Per message: reached a subscriber? (EMQX answers no_matching_subscribers otherwise.)"""
    if not messages:
        return []
    try:
        return await emqx_api(svc).publish_bulk(messages)
    except Exception as exc:  # noqa: BLE001 — devices stay pending and are retried later
        log_event("error", "ota_trigger_publish_failed", count=len(messages), exception=repr(exc))
        return [False] * len(messages)


def _status_row(
    rollout: Rollout,
    device_id: str,
    status: str,
    from_version: str | None,
    now_ms: int,
    error: str | None = None,
    joined_late: bool = False,
) -> Statement:
    """The device's row at the rollout's current stage (for store.write_statuses)."""
    return store.upsert_status(
        rollout.rollout_id, rollout.current_stage, device_id, status, from_version, now_ms,
        error, joined_late,
    )  # fmt: skip


async def enrol_cohort(svc: Services, rollout: Rollout, now_ms: int) -> int:
    """Add the cohort's new members as pending rows (devices that must not take this image
    are skipped), then trigger what the gates allow. Devices that match the cohort query only
    now (tagged, enrolled, updated since) join it: a dynamic cohort."""
    if not rollout.started(now_ms):
        return 0
    cohort = None
    if rollout.cohort_query:
        cohort = cohort_store.where(parse_query(rollout.cohort_query), now_ms)
    devices = await store.enrol_candidates(
        svc.db, rollout.rollout_id, rollout.model, DEFAULT_MODEL, cohort
    )
    devices = [d for d in devices if wanted(rollout, d["device_id"])]
    min_version = await firmware_store.min_version(svc.db, rollout.model, rollout.version)
    installed = [d["firmware_version"] for d in devices if d["firmware_version"]]
    security = await firmware_store.security_versions(svc.db, rollout.model, installed)
    late = rollout.enrols_late(now_ms)
    statements: list[Statement] = []
    for d in devices:
        version = d["firmware_version"]
        reason = skip_reason(rollout, version, min_version, security.get(version or ""))
        if reason:  # also a pending device that has since come to run the target
            statements.append(_status_row(rollout, d["device_id"], "skipped", version, now_ms,
                                          reason))  # fmt: skip
        elif d["status"] is None:
            statements.append(_status_row(rollout, d["device_id"], "pending", version, now_ms,
                                          joined_late=late))  # fmt: skip
    await store.write_statuses(svc.db, statements)
    return await trigger_pending(svc, rollout, now_ms)


async def _gates(db: Database, rollout: Rollout) -> Gates:
    """The rollout's rate now (its ramp grows with consecutive successes) and window."""
    policy, per_minute = rollout.policy, None
    if policy.rate is not None:
        successes = await store.ramp_successes(db, rollout.rollout_id)
        per_minute = policy.rate.per_minute(successes)
    window = policy.window if policy.gates_triggers_by_window() else None
    return Gates(per_minute=per_minute, window=window.minutes() if window else None)


async def trigger_pending(svc: Services, rollout: Rollout, now_ms: int) -> int:
    """Trigger pending devices that are online, keeping at most TRIGGER_BATCH in flight and
    within the rollout's gates (rate, window), decided by the statement that marks them."""
    counts = await status_counts(svc.db, rollout.rollout_id)
    room = TRIGGER_BATCH - sum(counts.get(s, 0) for s in IN_FLIGHT)
    if room <= 0 or not counts.get("pending") or not rollout.started(now_ms):
        return 0
    gates = await _gates(svc.db, rollout)
    ids = await store.promote_pending(
        svc.db, rollout.rollout_id, rollout.version, room, gates, now_ms
    )
    sent = await _send_or_untrigger(svc, rollout, ids, now_ms)
    await _cancel_if_aborted(svc, rollout, sent, now_ms)
    return len(sent)


async def _send_or_untrigger(
    svc: Services, rollout: Rollout, device_ids: list[str], now_ms: int
) -> list[str]:
    """Publish the triggers of rows already marked triggered at now_ms; undelivered ones go
    back to pending (if that write fails, the row's resend rule sends it again later)."""
    messages = [trigger_message(svc, rollout, d, now_ms / 1000) for d in device_ids]
    delivered = await _publish(svc, messages)
    sent = [d for d, ok in zip(device_ids, delivered, strict=True) if ok]
    missed = [d for d, ok in zip(device_ids, delivered, strict=True) if not ok]
    await store.untrigger(svc.db, rollout.rollout_id, missed, now_ms)
    return sent


async def trigger_if_pending(svc: Services, device_id: str, now_ms: int) -> int:
    """A device came online: send any trigger it missed while offline — also one it was sent
    but never acted on (a QoS 1 message to a clean session is lost when the link drops), at
    most MAX_TRIGGERS times; devices drop a repeat of a job they already run. Each send is
    claimed in D1 first, so the connect event and the `state` announcement of one connection
    (which may run at once) send it once."""
    before_ms = now_ms - RESEND_GRACE_MS
    rows = await store.sendable_for_device(svc.db, device_id, MAX_TRIGGERS, before_ms)
    sent = 0
    for row in rows:
        rollout = Rollout.from_row(row)
        if not rollout.started(now_ms):
            continue
        gates = await _gates(svc.db, rollout)
        claimed = await store.claim_send(
            svc.db, rollout.rollout_id, device_id, MAX_TRIGGERS, before_ms, now_ms, gates
        )
        if not claimed:
            continue  # another webhook of this connection sends it
        if all(await _publish(svc, [trigger_message(svc, rollout, device_id, now_ms / 1000)])):
            sent += 1
            await _cancel_if_aborted(svc, rollout, [device_id], now_ms)
        else:  # nobody subscribed yet: give the claim back for the device's next announcement
            await store.release_send(
                svc.db,
                rollout.rollout_id,
                device_id,
                row["device_status"],
                row["device_triggered_at"],
                row["device_progress_at"],
                claimed_ms=now_ms,
            )
    return sent


# --- lifecycle -----------------------------------------------------------------------------


async def start_rollout(
    svc: Services,
    *,
    model: str,
    version: str,
    stages: list[dict[str, Any]],
    threshold: float,
    timeout_minutes: float,
    allow_downgrade: bool,
    device_ids: list[str],
    rollout_id: str | None = None,
    policy: Policy | None = None,
    cohort_query: str | None = None,
) -> Rollout:
    """A rollout of an uploaded release: Unprocessable when the release is unknown,
    RolloutActive when the model already has a live rollout."""
    firmware = await firmware_store.get(svc.db, model, version)
    if firmware is None:
        raise Unprocessable(f"No uploaded {model} {version}.", code="unknown_firmware")
    spec = NewRollout(
        model=model,
        version=version,
        url=f"{svc.settings.ota_base_url}/firmware/{model}/{version}.bin",
        firmware=firmware,
        stages=stages,
        threshold=threshold,
        timeout_minutes=timeout_minutes,
        allow_downgrade=allow_downgrade,
        device_ids=device_ids,
        policy=policy or Policy(),
        cohort_query=cohort_query,
    )
    return await create(svc, spec, int(svc.clock() * 1000), rollout_id)


async def create(
    svc: Services, new: NewRollout, now_ms: int, rollout_id: str | None = None
) -> Rollout:
    """Insert the rollout and run its first evaluation (the first stage's triggers). Racing
    creates for one model: the database lets one in, the others get RolloutActive."""
    rollout_id = rollout_id or new_rollout_id()
    inserted = await store.insert_rollout(
        svc.db,
        rollout_id=rollout_id,
        model=new.model,
        version=new.version,
        url=new.url,
        sha256=new.firmware["sha256"],
        size=new.firmware["size"],
        signature=new.firmware["signature"],
        stages=new.stages,
        target_percent=round(new.stages[0]["percent"]),
        threshold=new.threshold,
        timeout_minutes=new.timeout_minutes,
        allow_downgrade=new.allow_downgrade,
        device_ids=new.device_ids,
        now_ms=now_ms,
        cohort_query=new.cohort_query,
        policy_json=new.policy.stored(),
        start_at=new.policy.start_at_ms,
        soak_ms=new.policy.health.soak_ms,
        stage_started_at=max(now_ms, new.policy.start_at_ms or 0),
        security_version=int(new.firmware.get("security_version") or 0),
        rollback_of=new.rollback_of,
    )
    if not inserted:
        live = await live_rollouts(svc.db, new.model)
        raise RolloutActive(new.model, live[0] if live else None)
    rollout = await load(svc.db, rollout_id)
    assert rollout is not None  # just inserted
    try:
        await evaluate(svc, rollout, now_ms)
    except StorageError as exc:
        # The rollout is committed: a 503 now would make the caller's retry a 409. The cron's
        # next pass (every 5 minutes) triggers the first cohort instead.
        log_event("warning", "rollout_first_pass_deferred", rollout_id=rollout_id, error=str(exc))
    return rollout


# Which statuses each one may be entered from: a transition that lost a race (a pause
# after the rollout completed, a second abort) changes nothing.
_FROM = {PAUSED: LIVE, ACTIVE: LIVE, ABORTED: LIVE, COMPLETED: (ACTIVE,)}


async def set_status(db: Database, rollout_id: str, status: str, reason: str, now_ms: int) -> bool:
    """Move a live rollout to `status`; False when it was no longer in a status that allows it."""
    return await store.set_rollout_status(db, rollout_id, status, reason, now_ms, _FROM[status])


async def abort(svc: Services, rollout: Rollout, reason: str, now_ms: int) -> None:
    """No new triggers; devices that have not started installing are told to cancel. Only the
    call that made the abort sends the cancels and raises the alert."""
    if not await set_status(svc.db, rollout.rollout_id, ABORTED, reason, now_ms):
        return
    await _cancel(svc, rollout, await store.cancellable_device_ids(svc.db, rollout.rollout_id))
    await store.cancel_all(svc.db, rollout.rollout_id, now_ms)
    await _raise_alert(svc.db, rollout, reason, now_ms)
    log_event("warning", "rollout_aborted", rollout_id=rollout.rollout_id, reason=reason)
    if rollout.policy.rollback and rollout.rollback_of is None:
        await roll_back(svc, rollout, now_ms)


def rollback_version(
    from_versions: Counter[str], security: dict[str, int], security_version: int
) -> str | None:
    """The version to offer back: the commonest previous version whose release has the same
    security version as the aborted one (an unknown or other one is never offered)."""
    same = [v for v in from_versions if security.get(v) == security_version]
    return max(same, key=lambda v: (from_versions[v], v), default=None)


async def roll_back(svc: Services, rollout: Rollout, now_ms: int) -> Rollout | None:
    """Offer the devices that installed the aborted version their previous one (the commonest
    among them), as a rollout of its own: its cohort is every device of the model that runs
    the aborted version, now or later (one still installing at the abort joins when its
    `state` shows it); downgrade allowed, no soak. Nothing is offered when that release has
    another security version: no security downgrade, ever."""
    rows = await store.installed_from(svc.db, rollout.rollout_id)
    before = Counter(str(r["from_version"]) for r in rows if r["from_version"] != rollout.version)
    security = await firmware_store.security_versions(svc.db, rollout.model, list(before))
    version = rollback_version(before, security, rollout.security_version)
    if version is None:
        log_event("warning", "rollback_impossible", rollout_id=rollout.rollout_id,
                  versions=dict(before))  # fmt: skip
        return None
    firmware = await firmware_store.get(svc.db, rollout.model, version)
    assert firmware is not None  # security_versions found its row
    device_ids = [str(r["device_id"]) for r in rows]
    new = NewRollout(
        model=rollout.model,
        version=version,
        url=f"{svc.settings.ota_base_url}/firmware/{rollout.model}/{version}.bin",
        firmware=firmware,
        stages=[{"percent": 100}],
        threshold=rollout.threshold,
        timeout_minutes=rollout.timeout_minutes,
        allow_downgrade=True,
        device_ids=[],
        policy=Policy(health=Health(soak_minutes=0)),
        cohort_query=render(Atom("version", "=", rollout.version)),
        rollback_of=rollout.rollout_id,
    )
    try:
        back = await create(svc, new, now_ms)
    except RolloutActive:
        log_event("warning", "rollback_blocked", rollout_id=rollout.rollout_id)
        return None
    await store.mark_rolled_back(svc.db, rollout.rollout_id, device_ids, back.rollout_id, version)
    log_event("warning", "rollout_rolled_back", rollout_id=rollout.rollout_id,
              rollback_rollout_id=back.rollout_id, version=version,
              devices=len(device_ids))  # fmt: skip
    return back


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
    if await store.rollout_status(svc.db, rollout.rollout_id) != ABORTED:
        return
    await _cancel(svc, rollout, device_ids)
    await store.cancel_devices(svc.db, rollout.rollout_id, device_ids, now_ms)


async def _raise_alert(db: Database, rollout: Rollout, reason: str, now_ms: int) -> None:
    message = f"rollout {rollout.rollout_id} ({rollout.model} {rollout.version}) aborted: {reason}"
    alert_id = f"rollout_aborted:{rollout.rollout_id}"
    finding = Finding(
        alert_id, "rollout_aborted", rollout.rollout_id, True, message, None, rollout.threshold
    )
    await monitoring_store.raise_alert(db, finding, iso_ms(now_ms))


async def advance(svc: Services, rollout: Rollout, now_ms: int, reason: str) -> str | None:
    """Next stage (new cohort members are triggered), or completed after the last one; None
    when another caller moved the rollout first (this call changed nothing)."""
    if rollout.current_stage + 1 >= len(rollout.stages):
        done = await set_status(svc.db, rollout.rollout_id, COMPLETED, reason, now_ms)
        return COMPLETED if done else None
    stage = rollout.current_stage + 1
    # Compare-and-set on the stage: the cron and an admin's advance racing move it once.
    percent = rollout.stages[stage].percent
    moved = await store.move_stage(
        svc.db, rollout.rollout_id, rollout.current_stage, stage, round(percent), percent,
        reason, now_ms,
    )  # fmt: skip
    if not moved:
        return None  # someone else moved it; their pass enrols the new cohort
    rollout.current_stage, rollout.stage_started_at = stage, now_ms
    rollout.cohort_percent = max(rollout.cohort_percent, percent)
    await enrol_cohort(svc, rollout, now_ms)
    return ACTIVE


async def extend(svc: Services, rollout: Rollout, now_ms: int) -> bool:
    """An inconclusive stage takes the first stage's share more of the fleet (its soak clock
    restarts with the new devices); False when another caller moved it first."""
    to = min(100.0, rollout.cohort_percent + rollout.stages[0].percent)
    if not await store.extend_cohort(svc.db, rollout.rollout_id, rollout.current_stage,
                                     rollout.cohort_percent, to, now_ms):  # fmt: skip
        return False
    rollout.cohort_percent, rollout.stage_started_at = to, now_ms
    await enrol_cohort(svc, rollout, now_ms)
    return True


async def _time_out(svc: Services, rollout: Rollout, now_ms: int) -> int:
    before_ms = now_ms - int(rollout.timeout_minutes * 60_000)
    waits = WINDOW_WAIT_MS if rollout.policy.install == "window" else 0
    return await store.time_out(svc.db, rollout.rollout_id, before_ms, now_ms, waits)


async def settle_soaks(svc: Services, rollout: Rollout, now_ms: int) -> None:
    """Soaking devices fail (reboots, telemetry silence, radar errors) or, once soak_minutes
    have passed healthily, pass."""
    if not rollout.soak_ms:
        return
    health = rollout.policy.health
    failed = await store.fail_soaks(
        svc.db,
        rollout.rollout_id,
        now_ms,
        max_reboots=health.max_reboots,
        silence_ms=health.silence_ms,
        radar_errors=health.radar_errors,
    )
    for row in failed:
        log_event("warning", "ota_soak_failed", rollout_id=rollout.rollout_id,
                  device_id=row["device_id"], reason=row["soak_error"])  # fmt: skip
    await store.pass_soaks(svc.db, rollout.rollout_id, rollout.soak_ms, now_ms)


async def stage_view(svc: Services, rollout: Rollout, now_ms: int) -> safety.StageView:
    counts = await status_counts(svc.db, rollout.rollout_id)
    failures, finished = failure_stats(counts)
    # Online devices waiting for the rate budget or their window hold a stage; offline
    # (pending) ones do not — they get the trigger when they return — but the rollout is
    # complete only when nobody is left waiting.
    gated = rollout.policy.rate is not None or rollout.policy.gates_triggers_by_window()
    waiting = await store.pending_online(svc.db, rollout.rollout_id) if gated else 0
    open_rows = sum(counts.get(s, 0) for s in IN_PROGRESS) + counts.get(SOAKING, 0) + waiting
    return safety.StageView(
        failures=failures,
        finished=finished,
        open_rows=open_rows,
        pending=counts.get("pending", 0),
        soaked=now_ms - rollout.stage_started_at >= rollout.stage.soak_minutes * 60_000,
        last=rollout.current_stage + 1 == len(rollout.stages),
        min_devices=rollout.stage.min_devices,
        threshold=rollout.threshold,
        can_extend=rollout.policy.on_inconclusive == "extend" and rollout.cohort_percent < 100,
    )


async def evaluate(svc: Services, rollout: Rollout, now_ms: int, enrol: bool = True) -> str:
    """One pass of the safety rules (rs1.ota.safety.decide); the rollout status afterwards."""
    if rollout.status != ACTIVE:
        return rollout.status
    if not rollout.started(now_ms):
        return ACTIVE  # scheduled: start_at is still ahead
    await settle_soaks(svc, rollout, now_ms)
    view = await stage_view(svc, rollout, now_ms)
    if safety.should_abort(view.failures, view.finished, rollout.threshold):
        return await _abort_for(svc, rollout, view, now_ms)
    if enrol:
        await enrol_cohort(svc, rollout, now_ms)
    else:
        await trigger_pending(svc, rollout, now_ms)
    view = await stage_view(svc, rollout, now_ms)
    decision = safety.decide(view)
    if decision == "abort":
        return await _abort_for(svc, rollout, view, now_ms)
    if decision == "complete":
        # Nothing riskier follows the last stage: finishing it needs no statistical advance.
        await set_status(svc.db, rollout.rollout_id, COMPLETED, "all devices finished", now_ms)
        return COMPLETED
    if decision == "advance":
        moved = await advance(svc, rollout, now_ms, "auto: upper bound below threshold")
        return moved or ACTIVE
    if decision == "extend":
        await extend(svc, rollout, now_ms)
    return ACTIVE


async def _abort_for(svc: Services, rollout: Rollout, view: safety.StageView, now_ms: int) -> str:
    reason = (
        f"failure rate {view.failures}/{view.finished}: 95% lower bound above {rollout.threshold}"
    )
    await abort(svc, rollout, reason, now_ms)
    return ABORTED


async def tick(svc: Services, now_ms: int) -> dict[str, str]:
    """The cron's pass over live rollouts: timeouts, soaks, then evaluation. One rollout's
    failure is logged and never stops the others (nor the rest of the cron)."""
    result = {}
    for rollout in await live_rollouts(svc.db):
        try:
            if rollout.status == ACTIVE:
                await _time_out(svc, rollout, now_ms)
            await settle_soaks(svc, rollout, now_ms)  # paused ones' soaks end too
            result[rollout.rollout_id] = await evaluate(svc, rollout, now_ms)
        except Exception as exc:  # noqa: BLE001 — the next minute retries it
            log_event("error", "rollout_tick_failed", rollout_id=rollout.rollout_id,
                      exception=repr(exc))  # fmt: skip
            result[rollout.rollout_id] = "error"
    # Devices of an aborted rollout that were already installing can still go silent: time
    # them out too, so the rollout's record shows them as failures; its soaks still end.
    for row in await store.aborted_with_devices_in_flight(svc.db):
        aborted = Rollout.from_row(row)
        await _time_out(svc, aborted, now_ms)
        await settle_soaks(svc, aborted, now_ms)
    return result


def new_rollout_id() -> str:
    return "r-" + secrets.token_hex(8)
