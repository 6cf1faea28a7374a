"""Who is watching: each socket carries its watcher (the connect-time identity), re-checked
at most every `recheck_s` while frames flow, so a watcher whose token expired, whose session
was logged out or revoked, or whose access to the device was withdrawn (unshared) is closed
within about that long — access is not only checked when the socket opens.

Close codes: 4401 (token expired or session ended: sign in again), 4403 (no access to this
device any more).
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from rs1.api.auth import device_role
from rs1.identity.access import ACCESS_JTI_PREFIX
from rs1.identity.sessions import is_live
from rs1.identity.tokens import Claims
from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.database import StorageError

SESSION_ENDED = 4401
ACCESS_REVOKED = 4403


@dataclass(frozen=True)
class Watcher:
    device_id: str
    sub: str
    role: str
    jti: str
    exp: int
    checked_at: float

    @property
    def claims(self) -> Claims:
        return Claims(self.sub, self.role, self.exp, self.jti)

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, raw: object) -> "Watcher | None":
        """From a socket's attachment; None for anything else (e.g. an older plain id)."""
        try:
            return cls(**json.loads(raw)) if isinstance(raw, str) else None
        except (ValueError, TypeError):
            return None


class WatchedSocket(Protocol):
    def watcher(self) -> Watcher | None: ...

    def remember(self, watcher: Watcher) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


async def verdict(svc: Services, w: Watcher, now: float) -> tuple[int, str] | None:
    """Why this watcher must go (close code, reason), or None while it may watch."""
    if w.exp <= now:
        return SESSION_ENDED, "token expired"
    access = w.jti.startswith(ACCESS_JTI_PREFIX)  # Access sessions live in Access, not KV
    if not access and not await is_live(svc.kv["SESSIONS"], w.claims):
        return SESSION_ENDED, "session ended"
    if await device_role(svc, w.claims, w.device_id) is None:
        return ACCESS_REVOKED, "no access to this device"
    return None


async def sweep(
    svc: Services, sockets: Sequence[WatchedSocket], now: float, recheck_s: float
) -> int:
    """Re-check the watchers not checked for recheck_s; close those that must go. A store
    failure keeps the watcher (checked again next time). Returns how many were closed."""
    closed = 0
    for socket in sockets:
        w = socket.watcher()
        if w is not None and now - w.checked_at < recheck_s:
            continue
        try:
            why = (SESSION_ENDED, "unknown watcher") if w is None else await verdict(svc, w, now)
        except StorageError as exc:
            log_event("warning", "live_recheck_failed", error=str(exc))
            continue
        if why is None:
            socket.remember(replace(w, checked_at=now))  # type: ignore[arg-type]
        else:
            socket.close(*why)
            closed += 1
    return closed
