"""POST /api/devices/claim {device_id, claim_code} — the first claimer becomes the owner."""

from pydantic import BaseModel, ConfigDict, Field

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.devices import ownership_store, store
from rs1.errors import NotFound
from rs1.identity.claim import claim_matches
from rs1.identity.device_id import is_device_id
from rs1.identity.keys import derive_device_secret
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: str = Field(max_length=32)
    claim_code: str = Field(min_length=1, max_length=32)


async def claim_device(
    request: ApiRequest, svc: Services, *, caller: Caller, body: ClaimBody, audit: AuditTrail
) -> ApiResponse:
    claims = caller.claims
    audit.target("device", body.device_id)
    audit.summary(after={"owner": claims.sub})
    found = await store.get_status(svc.db, body.device_id) if is_device_id(body.device_id) else None
    secret = (
        derive_device_secret(svc.settings.device_master_key, body.device_id, found[1])
        if found
        else ""
    )
    if found is None or not claim_matches(secret, body.claim_code):
        # One answer for "no such device" and "wrong code": no enumeration.
        raise NotFound("No device with that id and claim code.")
    # Someone else's device: AlreadyClaimed, a Conflict (409 already_claimed).
    created = await ownership_store.claim(svc.db, body.device_id, claims.sub)
    return json_response({"device_id": body.device_id, "role": "owner"}, 201 if created else 200)
