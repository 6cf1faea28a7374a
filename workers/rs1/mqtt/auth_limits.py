"""Failed MQTT logins per peer address, counted in KV RS1_RATE_LIMITS (10-minute window).

More than THRESHOLD failures in the window: `auth_failure_repeated` is logged once per window.
Wrong passwords keep being denied (a 256-bit HMAC cannot be guessed online); correct ones are
still allowed, so devices sharing a NAT with a broken one are not locked out. KV is eventually
consistent, so counts are approximate across colos — a tripwire, not a quota.
"""

import json
from dataclasses import dataclass

from rs1.storage.kv import KeyValue

WINDOW_S = 600
THRESHOLD = 5


@dataclass(frozen=True)
class FailureWindow:
    count: int
    started: float

    def expired(self, now: float) -> bool:
        return now - self.started >= WINDOW_S


def _key(peerhost: str) -> str:
    return f"mqtt-auth-fail:{peerhost}"


async def current_window(kv: KeyValue, peerhost: str, now: float) -> FailureWindow:
    raw = await kv.get(_key(peerhost))
    if raw:
        try:
            data = json.loads(raw)
            window = FailureWindow(int(data["count"]), float(data["started"]))
            if not window.expired(now):
                return window
        except (ValueError, KeyError, TypeError):
            pass  # a corrupt counter restarts the window
    return FailureWindow(0, now)


async def record_failure(kv: KeyValue, peerhost: str, window: FailureWindow, now: float) -> int:
    """Count one more failure; returns the new count."""
    updated = FailureWindow(window.count + 1, window.started)
    remaining = max(1, int(WINDOW_S - (now - window.started)))
    value = json.dumps({"count": updated.count, "started": updated.started})
    await kv.put(_key(peerhost), value, ttl=remaining)
    return updated.count
