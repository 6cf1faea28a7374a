"""Who a call's audit record names, and the trail a route's call starts with."""

from collections.abc import Mapping
from typing import Any

from rs1.audit.trail import Actor, AuditTrail
from rs1.messages import ApiRequest
from rs1.storage.database import Database

# Path parameters that name what a call acts on, most specific first.
_TARGETS = (
    ("key_id", "api_key"),
    ("endpoint_id", "event_endpoint"),
    ("event_id", "event"),
    ("rollout_id", "rollout"),
    ("jti", "session"),
    ("user_id", "user"),
    ("device_id", "device"),
)


def actor_of(caller: Any) -> Actor:
    claims = getattr(caller, "claims", None)
    if claims is None:
        return Actor("user", "unknown")
    key_id = getattr(claims, "key_id", None)
    if key_id:
        return Actor("api_key", key_id)
    return Actor("admin" if claims.role == "admin" else "user", claims.sub)


def default_target(params: Mapping[str, str]) -> tuple[str, str]:
    if "model" in params and "version" in params:
        return "firmware", f"{params['model']}/{params['version']}"
    for name, kind in _TARGETS:
        if name in params:
            return kind, params[name]
    return "none", ""


def new_trail(
    action: str,
    request: ApiRequest,
    caller: Any,
    params: Mapping[str, str],
    now: float,
    db: Database,
) -> AuditTrail:
    kind, ident = default_target(params)
    return AuditTrail(
        action=action,
        actor=actor_of(caller),
        request_id=request.request_id,
        client_ip=request.client_ip[:64],
        at_ms=int(now * 1000),
        target_type=kind,
        target_id=ident,
        db=db,
    )
