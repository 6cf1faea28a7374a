"""Who is watching: each socket carries its watcher (the connect-time identity), re-checked
at most every `recheck_s` while frames flow, so a watcher whose token expired, whose session
was logged out or revoked, or whose access to the device was withdrawn (unshared) is closed
within about that long — access is not only checked when the socket opens.

Close codes: 4401 (token expired or session ended: sign in again), 4403 (no access to this
device any more).
"""

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from rs1.devices import ownership_store
from rs1.identity.access import ACCESS_JTI_PREFIX
from rs1.identity.sessions import is_live
from rs1.logs import log_event
from rs1.ports import Watcher
from rs1.services import Services
from rs1.storage.database import StorageError

SESSION_ENDED = 4401
ACCESS_REVOKED = 4403


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
    if await ownership_store.role_for(svc.db, w.device_id, w.sub, w.role) is None:
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
        if why is None and w is not None:
            socket.remember(replace(w, checked_at=now))
        elif why is not None:
            socket.close(*why)
            closed += 1
    return closed
