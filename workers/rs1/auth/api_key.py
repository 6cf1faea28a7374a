"""`Authorization: Bearer rs1_live_…`: an integration's API key, acting as its `sub` with its
`role`, limited to its scopes (rs1.http.scopes). Each use is rate limited per key, counted on
the key (last_used_at, uses) and security-logged (api_key_used)."""

import json
from dataclasses import dataclass, field

from rs1.errors import BearerRequired
from rs1.http.errors import ApiError
from rs1.http.rate_limit import WINDOW_S, WindowCounters, retry_after
from rs1.identity import api_key_store, api_keys
from rs1.identity.tokens import Claims
from rs1.messages import ApiRequest
from rs1.security_log import record_security_event
from rs1.services import Services
from rs1.timefmt import iso_ms

API_KEY_USED = "api_key_used"
_counters = WindowCounters()  # per isolate, synced through KV like the per-IP limit


@dataclass(frozen=True)
class KeyClaims(Claims):
    key_id: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)


async def authenticate_key(key: str, request: ApiRequest, svc: Services) -> KeyClaims:
    key_id = api_keys.key_id_of(key)
    row = await api_key_store.for_auth(svc.db, key_id) if key_id else None
    if key_id is None or row is None or not api_keys.matches(key, row["secret_hash"]):
        raise BearerRequired("Invalid API key.")
    now = svc.clock()
    if row["revoked_at"]:
        raise BearerRequired("The API key was revoked.")
    if row["expires_at"] and row["expires_at"] <= iso_ms(now * 1000):
        raise BearerRequired("The API key has expired.")
    await _limit(svc, key_id, now)
    svc.defer(_record_use(svc, key_id, request, now))
    exp = 0  # keys are checked against expires_at on every use, not a token's exp
    scopes = frozenset(json.loads(row["scopes"]))
    return KeyClaims(row["sub"], row["role"], exp, f"key:{key_id}", key_id, scopes)


async def _limit(svc: Services, key_id: str, now: float) -> None:
    window = int(now // WINDOW_S)
    count = await _counters.hit(svc.kv["RS1_RATE_LIMITS"], f"api-key:{key_id}:{window}", now)
    limit = svc.settings.api_key_rate_limit
    if count > limit:
        retry = str(retry_after(now, (window + 1) * WINDOW_S))
        message = f"API key {key_id} made more than {limit} requests a minute."
        raise ApiError(429, "rate_limited", message, headers={"retry-after": retry})


async def _record_use(svc: Services, key_id: str, request: ApiRequest, now: float) -> None:
    await api_key_store.mark_used(svc.db, key_id, iso_ms(now * 1000), 1)
    details = {"key_id": key_id, "method": request.method, "path": request.path}
    await record_security_event(svc.db, API_KEY_USED, details, request.client_ip)
