"""Admin rollout calls (spec paths): create, list, show, abort, pause, resume, advance."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from rs1contract.manifest import MODEL_PATTERN

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.devices import cohort_store
from rs1.errors import Conflict, NotFound
from rs1.http.cursors import after_id, encode_cursor, int_param, split_page
from rs1.identity.device_id import is_device_id
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.ota import rollout_store, safety
from rs1.ota import rollouts as ro
from rs1.ota.policy import Policy
from rs1.query import parse_query
from rs1.services import Services


class StageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    percent: float = Field(gt=0, le=100)
    min_devices: int = Field(default=0, ge=0)
    soak_minutes: float = Field(default=0, ge=0, le=7 * 24 * 60)


class RolloutBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    firmware_version: str = Field(max_length=64)
    model: str = Field(default=ro.DEFAULT_MODEL, pattern=MODEL_PATTERN)
    stages: list[StageBody] | None = Field(default=None, min_length=1, max_length=20)
    target_percent: float | None = Field(default=None, gt=0, le=100)
    failure_threshold: float = Field(default=0.02, gt=0, lt=1)
    timeout_minutes: float = Field(default=60, gt=0, le=7 * 24 * 60)
    allow_downgrade: bool = False
    device_ids: list[str] = Field(default_factory=list, max_length=1000)
    # Which devices: a cohort query (README "The cohort query language"); devices that match
    # while the rollout runs join it. None: every device of the model.
    cohort: str | None = Field(default=None, max_length=1024)
    policy: Policy = Field(default_factory=Policy)

    @model_validator(mode="after")
    def _stages(self) -> "RolloutBody":
        if self.stages is None:
            self.stages = [StageBody(percent=self.target_percent or 100)]
        percents = [s.percent for s in self.stages]
        if percents != sorted(set(percents)):
            raise ValueError("stage percents must strictly increase")
        if not all(is_device_id(d) for d in self.device_ids):
            raise ValueError("device_ids must be device ids")
        if self.policy.jitter_s > self.timeout_minutes * 30:
            raise ValueError("policy.jitter_s must be at most half of timeout_minutes")
        return self


def _now_ms(svc: Services) -> int:
    return int(svc.clock() * 1000)


async def create_rollout(
    request: ApiRequest, svc: Services, *, caller: Caller, body: RolloutBody, audit: AuditTrail
) -> ApiResponse:
    rollout_id = ro.new_rollout_id()
    audit.target("rollout", rollout_id)
    audit.summary(after=body.model_dump(mode="json"))
    if body.cohort is not None:  # 400 invalid_query before anything is written
        cohort_store.where(parse_query(body.cohort), _now_ms(svc))
    rollout = await ro.start_rollout(
        svc,
        model=body.model,
        version=body.firmware_version,
        stages=[s.model_dump() for s in body.stages or []],
        threshold=body.failure_threshold,
        timeout_minutes=body.timeout_minutes,
        allow_downgrade=body.allow_downgrade,
        device_ids=body.device_ids,
        rollout_id=rollout_id,
        policy=body.policy,
        cohort_query=body.cohort,
    )
    return json_response(await describe(svc, rollout.rollout_id), 201)


async def describe(svc: Services, rollout_id: str) -> dict[str, Any]:
    row = await rollout_store.get_rollout(svc.db, rollout_id)
    if row is None:
        raise NotFound(f"No rollout {rollout_id}.")
    rollout = ro.Rollout.from_row(row)
    counts = await rollout_store.status_counts(svc.db, rollout_id)
    failures, finished = ro.failure_stats(counts)
    interval = safety.wilson(failures, finished)
    now_ms = _now_ms(svc)
    rate = None
    if rollout.policy.rate is not None:
        successes = await rollout_store.ramp_successes(svc.db, rollout_id)
        rate = {"per_minute_now": rollout.policy.rate.per_minute(successes),
                "consecutive_successes": successes}  # fmt: skip
    return {
        "rollout_id": rollout_id,
        "model": rollout.model,
        "firmware_version": rollout.version,
        "status": rollout.status,
        "status_reason": row["status_reason"],
        "stages": [s.__dict__ for s in rollout.stages],
        "current_stage": rollout.current_stage,
        "target_percent": row["target_percent"],
        "counts": counts,
        "failures": failures,
        "finished": finished,
        "failure_rate": failures / finished if finished else None,
        "failure_rate_ci95": [round(interval.low, 6), round(interval.high, 6)],
        "failure_threshold": rollout.threshold,
        "timeout_minutes": rollout.timeout_minutes,
        "created_at": row["created_at"],
        "cohort": {
            "query": rollout.cohort_query,
            "percent": rollout.cohort_percent,
            "dynamic": True,
            "joined_after_start": await rollout_store.joined_late(svc.db, rollout_id),
        },
        "policy": rollout.policy.model_dump(mode="json"),
        "scheduled": not rollout.started(now_ms),
        "rate": rate,
        "soak_failures": await rollout_store.soak_failures(svc.db, rollout_id),
        # Pending and online: waiting for the rate budget or their window (not offline).
        "waiting_online": await rollout_store.pending_online(svc.db, rollout_id),
        "security_version": rollout.security_version,
        "rollback": {
            "version": row["rollback_version"],
            "rollout_id": row["rollback_rollout_id"],
            "of": rollout.rollback_of,
        },
    }


async def list_rollouts(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    ids = await rollout_store.recent_rollout_ids(svc.db)
    return json_response({"rollouts": [await describe(svc, i) for i in ids]})


async def get_rollout(
    request: ApiRequest, svc: Services, rollout_id: str, *, caller: Caller
) -> ApiResponse:
    return json_response(await describe(svc, rollout_id))


async def _live(svc: Services, rollout_id: str) -> ro.Rollout:
    rollout = await ro.load(svc.db, rollout_id)
    if rollout is None:
        raise NotFound(f"No rollout {rollout_id}.")
    if rollout.status not in ro.LIVE:
        raise Conflict(f"Rollout {rollout_id} is {rollout.status}.", code="rollout_finished")
    return rollout


async def abort_rollout(
    request: ApiRequest, svc: Services, rollout_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    claims = caller.claims
    rollout = await _live(svc, rollout_id)
    await ro.abort(svc, rollout, f"aborted by {claims.sub}", _now_ms(svc))
    return json_response(await describe(svc, rollout_id))


async def pause_rollout(
    request: ApiRequest, svc: Services, rollout_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    claims = caller.claims
    await _live(svc, rollout_id)
    if not await ro.set_status(svc.db, rollout_id, ro.PAUSED, f"paused by {claims.sub}",
                               _now_ms(svc)):  # fmt: skip
        await _live(svc, rollout_id)  # it finished meanwhile: say so
    return json_response(await describe(svc, rollout_id))


async def resume_rollout(
    request: ApiRequest, svc: Services, rollout_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    claims = caller.claims
    rollout = await _live(svc, rollout_id)
    now = _now_ms(svc)
    if not await ro.set_status(svc.db, rollout_id, ro.ACTIVE, f"resumed by {claims.sub}", now):
        await _live(svc, rollout_id)  # it finished meanwhile: say so
    rollout.status = ro.ACTIVE
    await ro.evaluate(svc, rollout, now)
    return json_response(await describe(svc, rollout_id))


async def advance_rollout(
    request: ApiRequest, svc: Services, rollout_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    """Ops move to the next stage before the statistics allow an automatic advance (small
    fleets rarely reach a 95% upper bound under 2%) — but never past a failing stage."""
    claims = caller.claims
    rollout = await _live(svc, rollout_id)
    if rollout.status != ro.ACTIVE:
        raise Conflict("Resume the rollout before advancing it.", code="rollout_paused")
    expected = request.query.get("from_stage")
    if expected is not None and expected != str(rollout.current_stage):
        # Optimistic concurrency: the rollout moved on (auto-advance) since the caller looked.
        message = f"The rollout is at stage {rollout.current_stage}."
        raise Conflict(message, code="stage_changed")
    if rollout.current_stage + 1 >= len(rollout.stages):
        raise Conflict("This is the last stage: it completes by itself.", code="last_stage")
    counts = await rollout_store.status_counts(svc.db, rollout_id)
    failures, finished = ro.failure_stats(counts)
    if safety.should_abort(failures, finished, rollout.threshold):
        raise Conflict("The failure rate is above the threshold.", code="rollout_failing")
    if await ro.advance(svc, rollout, _now_ms(svc), f"advanced by {claims.sub}") is None:
        raise Conflict("The rollout moved on meanwhile; look again.", code="stage_changed")
    return json_response(await describe(svc, rollout_id))


async def rollout_devices(
    request: ApiRequest, svc: Services, rollout_id: str, *, caller: Caller
) -> ApiResponse:
    if await rollout_store.get_rollout(svc.db, rollout_id) is None:
        raise NotFound(f"No rollout {rollout_id}.")
    limit = int_param(request.query, "limit", 500, 1, 500)
    after = after_id(request.query.get("cursor"))
    rows = await rollout_store.devices_page(svc.db, rollout_id, after, limit + 1)
    page, more = split_page(rows, limit)
    flags = ("joined_late", "rolled_back")
    devices = [{**r, **{f: bool(r[f]) for f in flags}} for r in page]
    cursor = encode_cursor({"after": devices[-1]["device_id"]}) if more else None
    return json_response({"devices": devices, "next_cursor": cursor})
