"""POST /admin/devices/bulk: tag, revoke or diag every device a cohort query matches.

One audit record per call names the query and what it matched. Tags change in one D1 batch
for up to MAX_MATCHED devices; revoke and diag take one EMQX API call per device (a kick, a
diag/request), so they act on at most MAX_PER_DEVICE devices a call: a Worker invocation
makes a bounded number of subrequests.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rs1.admin.devices import TagsBody, revoke_one
from rs1.admin.diagnostics import DiagBody, send_diag
from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.devices import cohort_store, tags_store
from rs1.errors import Unprocessable
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.query import parse_query
from rs1.services import Services

MAX_MATCHED = 10_000
MAX_PER_DEVICE = 100  # revoke, diag
PAGE = 1_000
SHOWN = 100


class BulkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=1024)
    action: Literal["tag", "revoke", "diag"]
    tags: TagsBody | None = None  # action tag
    diag: DiagBody = Field(default_factory=DiagBody)  # action diag
    dry_run: bool = False

    @model_validator(mode="after")
    def _tags_for_tag(self) -> "BulkBody":
        if self.action == "tag" and (self.tags is None or not (self.tags.set or self.tags.remove)):
            raise ValueError("action tag needs tags: {set, remove}")
        return self


async def _matching(svc: Services, query: str, limit: int) -> list[str]:
    """Up to limit + 1 matching device ids (one more says there are too many)."""
    parsed, now_ms, ids = parse_query(query), int(svc.clock() * 1000), []
    while len(ids) <= limit:
        page = await cohort_store.matching_ids(
            svc.db, parsed, now_ms, after=ids[-1] if ids else "", limit=PAGE
        )
        ids += page
        if len(page) < PAGE:
            break
    return ids[: limit + 1]


async def bulk(
    request: ApiRequest, svc: Services, *, caller: Caller, body: BulkBody, audit: AuditTrail
) -> ApiResponse:
    limit = MAX_MATCHED if body.action == "tag" else MAX_PER_DEVICE
    ids = await _matching(svc, body.query, limit)
    audit.target("device_query", body.query)
    audit.summary(after={"action": body.action, "matched": len(ids), "dry_run": body.dry_run,
                         "device_ids": ids[:SHOWN]})  # fmt: skip
    if len(ids) > limit:
        raise Unprocessable(
            f"The query matches more than {limit} devices; {body.action} takes at most {limit}"
            " a call: narrow the query.",
            code="too_many_devices",
        )
    applied = 0 if body.dry_run else await _apply(svc, body, ids, audit)
    answer = {"matched": len(ids), "device_ids": ids[:SHOWN], "applied": applied,
              "dry_run": body.dry_run}  # fmt: skip
    return json_response(answer)


async def _apply(svc: Services, body: BulkBody, ids: list[str], audit: AuditTrail) -> int:
    if body.action == "tag":
        assert body.tags is not None  # the model's validator
        await tags_store.change_many(svc.db, ids, body.tags.set, body.tags.remove)
        return len(ids)
    if body.action == "revoke":
        return sum([await revoke_one(svc, d, audit) is not None for d in ids])
    await audit.commit()  # requests go to the devices, not to D1: record them first
    return sum([await send_diag(svc, d, body.diag.kind) is not None for d in ids])
