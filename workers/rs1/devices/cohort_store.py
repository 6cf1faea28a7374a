"""SQL for cohort queries (rs1.query): a parsed query compiled to a WHERE fragment over the
devices table `d`, and the searches that run it.

Every fragment is fixed text from this module; every value of the query is a bound parameter,
never part of the SQL. Each atom is two-valued (COALESCE(…, 0), or IS NULL tests) so SQL's
NULL logic cannot differ from rs1.query.evaluate, which a property test checks on random
fleets.
"""

from typing import Any

from rs1.query.parser import Atom, Bool, Node, Not, QueryError
from rs1.query.version_key import version_key
from rs1.storage.database import Database, Row
from rs1.timefmt import iso_ms

MAX_PARAMS = 60  # D1 binds at most 100 a statement: room for the statement's own
_COMPARE = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_TAG = "EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = d.device_id AND t.key = ?"
_OWNER = (  # the owner, not a viewer the device is shared with
    "EXISTS (SELECT 1 FROM device_ownership o WHERE o.device_id = d.device_id "
    "AND o.role = 'owner' AND o.user_id = ?)"
)
_LATEST = "(SELECT MAX(z.version) FROM zone_configs z WHERE z.device_id = d.device_id)"
_CONFIG = (
    f"(CASE WHEN {_LATEST} IS NULL THEN 'none' WHEN d.config_version >= {_LATEST} "
    f"THEN 'applied' WHEN COALESCE(d.config_rejected_version, -1) >= {_LATEST} "
    "THEN 'rejected' ELSE 'pending' END)"
)
_PLAIN = {  # never NULL: a plain comparison is two-valued already
    "model": "COALESCE(d.model, 'RS-1')",
    "status": "d.status",
    "id": "d.device_id",
    "config": _CONFIG,
}


def where(query: Node, now_ms: int) -> tuple[str, tuple[Any, ...]]:
    """The query as a WHERE fragment over `d` (devices) and its parameters, in order."""
    params: list[Any] = []
    sql = _node(query, now_ms, params)
    if len(params) > MAX_PARAMS:
        raise QueryError(f"The query needs more than {MAX_PARAMS} values", 0)
    return sql, tuple(params)


def _node(node: Node, now_ms: int, params: list[Any]) -> str:
    if isinstance(node, Not):
        return f"NOT ({_node(node.item, now_ms, params)})"
    if isinstance(node, Bool):
        joint = " AND " if node.op == "and" else " OR "
        return "(" + joint.join(_node(i, now_ms, params) for i in node.items) + ")"
    return _atom(node, now_ms, params)


def _atom(a: Atom, now_ms: int, params: list[Any]) -> str:
    op = _COMPARE.get(a.op, "=")
    if a.field == "online":
        return "d.online = 1" if a.op == "=" else "d.online = 0"
    if a.field == "version":
        params.append(version_key(str(a.value)))
        return f"COALESCE(d.version_key {op} ?, 0)"
    if a.field == "rssi":
        params.append(a.value)
        return f"COALESCE(d.rssi {op} ?, 0)"
    if a.field == "seen":
        params.append(iso_ms(now_ms - int(a.value)))  # type: ignore[arg-type]
        if a.op == "<":
            return "COALESCE(d.last_seen >= ?, 0)"
        return "(d.last_seen IS NULL OR d.last_seen < ?)"
    if a.field == "tag":
        return _tag(a, params)
    if a.field == "owner":
        params.append(a.value)
        return _OWNER if a.op == "=" else f"NOT {_OWNER}"
    params.append(a.value)
    return f"{_PLAIN[a.field]} {op} ?"


def _tag(a: Atom, params: list[Any]) -> str:
    params.append(a.key)
    if a.op == "has":
        return f"{_TAG})"
    if a.op == "in":
        values = tuple(a.value or ())  # type: ignore[arg-type]
        params.extend(values)
        return f"{_TAG} AND t.value IN ({','.join('?' * len(values))}))"
    params.append(a.value)
    hit = f"{_TAG} AND t.value = ?)"
    return hit if a.op == "=" else f"NOT {hit}"


async def matching_ids(
    db: Database,
    query: Node,
    now_ms: int,
    *,
    model: str | None = None,
    after: str = "",
    limit: int = 500,
) -> list[str]:
    """Ids of the devices the query matches (of `model`, when given), after `after`."""
    fragment, params = where(query, now_ms)
    rows = await db.all(
        "SELECT d.device_id FROM devices d WHERE d.device_id > ? "
        f"AND (? IS NULL OR COALESCE(d.model, 'RS-1') = ?) AND ({fragment}) "
        "ORDER BY d.device_id LIMIT ?",
        after, model, model, *params, limit,
    )  # fmt: skip
    return [str(r["device_id"]) for r in rows]


async def search(db: Database, query: Node, now_ms: int, *, after: str, limit: int) -> list[Row]:
    """The admin's registry page for a query (the columns of rs1.devices.store.search)."""
    fragment, params = where(query, now_ms)
    return await db.all(
        "SELECT d.device_id, d.mac_address, d.model, d.firmware_version, d.online, d.last_seen, "
        f"d.status, d.config_version FROM devices d WHERE d.device_id > ? AND ({fragment}) "
        "ORDER BY d.device_id LIMIT ?",
        after, *params, limit,
    )  # fmt: skip
