"""Ops-issued sessions: POST /admin/sessions mints a token, DELETE /admin/sessions/{jti} revokes.

The zone editor's login (OAuth in front of the API) and the test/demo tools use this to hand a
user a token; the very first admin token comes from `rs1ctl token`, which writes its session
straight into KV SESSIONS with wrangler.
"""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rs1.api.sessions import session_view
from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.errors import NotFound
from rs1.identity.sessions import close_session, start_session
from rs1.identity.tokens import MAX_TTL_S
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services
from rs1.text import PlainText

JTI = re.compile(r"^[0-9a-f]{32}$")


class SessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sub: PlainText = Field(min_length=1, max_length=200)
    role: Literal["user", "admin"] = "user"
    ttl_s: int = Field(default=3600, ge=60, le=MAX_TTL_S)


async def create_session(
    request: ApiRequest, svc: Services, *, caller: Caller, body: SessionBody, audit: AuditTrail
) -> ApiResponse:
    token, claims = await start_session(
        svc.kv["SESSIONS"], svc.settings.jwt_secret, body.sub, body.role, svc.clock(), body.ttl_s
    )
    # Recorded before the token is handed out: a session nobody holds changes nothing.
    audit.target("session", claims.jti)
    audit.summary(after={"sub": body.sub, "role": body.role, "ttl_s": body.ttl_s})
    await audit.commit()
    return json_response({**session_view(claims), "token": token}, 201)


async def revoke_session(
    request: ApiRequest, svc: Services, jti: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    if not JTI.match(jti):
        raise NotFound(f"No session {jti}.")
    await audit.commit()  # KV holds the change: the record goes first
    await close_session(svc.kv["SESSIONS"], jti)
    return ApiResponse(204)
