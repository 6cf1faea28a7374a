"""Integration API keys: POST /admin/keys (the key is shown once), GET, DELETE (revoke)."""

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.errors import NotFound, Unprocessable
from rs1.http.scopes import SCOPES
from rs1.identity import api_key_store
from rs1.identity.api_keys import new_key
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services
from rs1.text import PlainText
from rs1.timefmt import iso_ms


class KeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: PlainText = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=len(SCOPES))
    role: Literal["user", "admin"] = "admin"
    # Whom the key acts for: a user's id (required for role user); an admin key is its own.
    sub: PlainText | None = Field(default=None, min_length=1, max_length=200)
    expires_at: datetime | None = None

    @field_validator("scopes")
    @classmethod
    def _known(cls, scopes: list[str]) -> list[str]:
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; known: {list(SCOPES)}")
        return sorted(set(scopes))


def public_key(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "scopes": json.loads(row["scopes"])}


def _expiry(body: KeyBody, now: float) -> str | None:
    if body.expires_at is None:
        return None
    if body.expires_at.tzinfo is None:
        raise Unprocessable("expires_at needs a time zone (…Z).", code="invalid_expiry")
    at_ms = body.expires_at.timestamp() * 1000
    if at_ms <= now * 1000:
        raise Unprocessable("expires_at is in the past.", code="invalid_expiry")
    return iso_ms(at_ms)


async def create_key(
    request: ApiRequest, svc: Services, *, caller: Caller, body: KeyBody, audit: AuditTrail
) -> ApiResponse:
    if body.role == "user" and body.sub is None:
        raise Unprocessable("A user key needs the sub (user id) it acts for.", code="sub_required")
    now = svc.clock()
    expires_at = _expiry(body, now)
    made = new_key()
    sub = body.sub or f"apikey:{made.key_id}"
    created_at = iso_ms(now * 1000)
    shown = {"name": body.name, "scopes": body.scopes, "role": body.role, "sub": sub,
             "expires_at": expires_at}  # fmt: skip
    audit.target("api_key", made.key_id)
    audit.summary(after=shown)
    await api_key_store.insert(
        svc.db, made.key_id, body.name, made.secret_hash, body.scopes, body.role, sub,
        caller.sub, created_at, expires_at,
    )  # fmt: skip
    answer = {"key_id": made.key_id, "key": made.key, **shown, "created_at": created_at}
    return json_response(answer, 201)


async def list_keys(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    rows = await api_key_store.list_all(svc.db)
    return json_response({"keys": [public_key(r) for r in rows]})


async def revoke_key(
    request: ApiRequest, svc: Services, key_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    row = await api_key_store.get(svc.db, key_id)
    if row is None:
        raise NotFound(f"No API key {key_id}.")
    at = iso_ms(svc.clock() * 1000)
    audit.summary(before={"revoked_at": row["revoked_at"]}, after={"revoked_at": at})
    await api_key_store.revoke(svc.db, key_id, at)
    row = await api_key_store.get(svc.db, key_id)
    return json_response({"key_id": key_id, "revoked_at": row["revoked_at"] if row else at})
