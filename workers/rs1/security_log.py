"""security_log writes (infrastructure spec 11.3 event types)."""

import json
from typing import Any

from rs1.monitoring import store
from rs1.storage.database import Database
from rs1.timefmt import utc_now_iso

AUTH_FAILURE_REPEATED = "auth_failure_repeated"
ACL_VIOLATION = "acl_violation"
RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
ADMIN_API_ACCESS = "admin_api_access"
WEBHOOK_SECRET_INVALID = "webhook_secret_invalid"  # noqa: S105 — an event name


async def record_security_event(
    db: Database, event_type: str, details: dict[str, Any], ip: str = ""
) -> None:
    text = json.dumps(details, sort_keys=True, default=str)
    await store.add_security_event(db, event_type, text, ip[:64], utc_now_iso())
