"""The rule SQL the local broker understands: `SELECT * FROM "<topic filter>"`.

That is all emqx.conf uses. Anything richer (field lists, WHERE, several FROM topics) is
refused at start-up rather than run with different semantics than EMQX would.
"""

import re

EVENT_TOPICS = {
    "$events/client_connected": "client.connected",
    "$events/client_disconnected": "client.disconnected",
}

_SELECT_ALL = re.compile(
    r"""\s*SELECT\s+\*\s+FROM\s+(?:"(?P<dq>[^"]+)"|'(?P<sq>[^']+)')\s*;?\s*""",
    re.IGNORECASE | re.DOTALL,
)


class UnsupportedSql(ValueError):
    pass


def rule_source(sql: str) -> str:
    """The topic filter (or $events/... topic) a rule reads from."""
    match = _SELECT_ALL.fullmatch(sql)
    if not match:
        raise UnsupportedSql(f'only SELECT * FROM "<topic filter>" is supported, got {sql!r}')
    source = match.group("dq") or match.group("sq")
    if source.startswith("$events/") and source not in EVENT_TOPICS:
        raise UnsupportedSql(f"unsupported event topic {source!r}")
    return source
