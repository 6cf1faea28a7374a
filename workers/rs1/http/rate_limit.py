"""Per-client-IP request limits on /api/* (spec: 100 per minute), counted in KV
RS1_RATE_LIMITS in one-minute windows. KV is eventually consistent, so the count is
approximate across Cloudflare locations — a guard against abuse, not an exact quota."""

import json

from rs1.http.errors import ApiError
from rs1.http.messages import ApiRequest
from rs1.security_log import RATE_LIMIT_EXCEEDED, record_security_event
from rs1.services import Services

WINDOW_S = 60


class RateLimit:
    def __init__(self, prefix: str = "/api/") -> None:
        self.prefix = prefix

    async def __call__(self, request: ApiRequest, svc: Services) -> None:
        if not request.path.startswith(self.prefix) or request.method == "OPTIONS":
            return None
        limit = svc.settings.api_rate_limit
        now = svc.clock()
        window = int(now // WINDOW_S)
        ip = request.client_ip or "unknown"
        key = f"api-rate:{ip}:{window}"
        kv = svc.kv["RS1_RATE_LIMITS"]
        count = int(json.loads(await kv.get(key) or "0")) + 1
        await kv.put(key, str(count), ttl=WINDOW_S * 2)
        reset = (window + 1) * WINDOW_S
        request.response_headers.update(
            {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(max(0, limit - count)),
                "x-ratelimit-reset": str(reset),
            }
        )
        if count > limit:
            if count == limit + 1:  # log once per client and window
                details = {"limit": limit, "window_s": WINDOW_S, "path": request.path}
                await record_security_event(svc.db, RATE_LIMIT_EXCEEDED, details, ip)
            retry = str(max(1, int(reset - now)))
            message = f"More than {limit} requests a minute."
            raise ApiError(429, "rate_limited", message, headers={"retry-after": retry})
        return None
