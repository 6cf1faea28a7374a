"""What an API key may be granted, and what each route needs (its `scope=`).

A session (bearer JWT or Cloudflare Access) is not scoped: its role decides. An API key is
checked against the route's scope by the app (rs1.http.app) after the route's auth guard, so
a key never does more than its scopes *and* its role allow. A route without a scope is closed
to API keys (sessions, API keys themselves: a key cannot mint keys or sessions).
"""

SCOPES = (
    "devices:read",
    "devices:write",
    "zones:write",
    "firmware:read",
    "firmware:write",
    "rollouts:read",
    "rollouts:write",
    "fleet:read",
    "events:read",
    "events:write",
    "audit:read",
)
ANY_KEY = "any"  # every key may call it (who am I)


def allows(granted: frozenset[str], needed: str | None) -> bool:
    return needed == ANY_KEY or (needed is not None and needed in granted)
