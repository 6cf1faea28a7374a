"""The layout rules of `workers/`, checked on the source: where SQL may live, which layer may
import which, no import cycles, handlers that never authenticate themselves."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import ROOT

WORKERS = ROOT / "workers"
PACKAGE = WORKERS / "rs1"
SQL = re.compile(r"\b(SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)")

# Lowest first. A module may import its own layer and those below, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    # values, ports and plumbing: no records, no HTTP routes
    (
        "rs1.text", "rs1.timefmt", "rs1.errors", "rs1.validation", "rs1.logs", "rs1.settings",
        "rs1.storage", "rs1.identity", "rs1.messages", "rs1.ports", "rs1contract",
    ),
    # the records (stores) and the domain
    (
        "rs1.services", "rs1.devices", "rs1.mqtt", "rs1.ota", "rs1.telemetry", "rs1.zones",
        "rs1.monitoring", "rs1.security_log", "rs1.live", "rs1.backups", "rs1.emqx",
        "rs1.outbox", "rs1.audit", "rs1.events", "rs1.query",
    ),
    # the HTTP edge: routing, auth, handlers
    (
        "rs1.http", "rs1.auth", "rs1.api", "rs1.admin", "rs1.webhooks", "rs1.downloads",
        "rs1.health",
    ),
    # assembly and the runtime
    ("rs1.apps", "rs1.platform"),
)  # fmt: skip


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(WORKERS.rglob("*.py")):
        parts = path.relative_to(WORKERS).with_suffix("").parts
        if parts[0] in ("rs1", "rs1contract"):
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in known else node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def layer_of(module: str) -> int:
    best, depth = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    return best


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {m for m in imports(path, known) if m in known and m != name}
        for name, path in known.items()
    }


def code_strings(path: Path) -> Iterator[tuple[int, str]]:
    """The string literals of a module that are code, not documentation (docstrings, which
    may quote an EMQX rule's SELECT, are skipped)."""
    tree = ast.parse(path.read_text())
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


def test_sql_lives_only_in_store_modules() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in PACKAGE.rglob("*.py")
        if not path.name.endswith("store.py")
        for line, text in code_strings(path)
        if SQL.search(text)
    ]
    assert outside == []


def test_the_sql_check_sees_sql_in_code() -> None:
    """Guard against a check that passes by seeing nothing."""
    stores = list(PACKAGE.rglob("*store.py"))
    assert len(stores) >= 8
    assert all(any(SQL.search(t) for _, t in code_strings(p)) for p in stores)


def test_every_module_has_a_layer() -> None:
    assert [m for m in graph() if layer_of(m) < 0 and m != "rs1"] == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{a} → {b}"
        for a, targets in graph().items()
        for b in sorted(targets)
        if layer_of(b) > layer_of(a)
    ]
    assert upward == []


def package_of(module: str) -> str:
    """`rs1.ota.rollouts` → `rs1.ota`; a top-level module is its own node."""
    return ".".join(module.split(".")[:2])


def package_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for a, targets in graph().items():
        mine = package_of(a)
        edges.setdefault(mine, set()).update(package_of(b) for b in targets)
        edges[mine].discard(mine)
    return edges


@pytest.mark.parametrize("build", [graph, package_graph], ids=["modules", "packages"])
def test_the_import_graph_has_no_cycle(build) -> None:
    edges = build()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_handlers_never_authenticate_themselves() -> None:
    """Routes declare auth; the router enforces it (rs1.auth.guards)."""
    checks = re.compile(r"\b(require_admin|require_user|require_device|require_webhook_secret|"
                        r"bearer_token|device_credentials|parse_body)\(")  # fmt: skip
    edge = [PACKAGE / d for d in ("api", "admin", "webhooks")]
    handlers = [p for d in edge for p in d.rglob("*.py")] + [PACKAGE / "downloads.py"]
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in handlers
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if checks.search(line)
    ]
    assert offenders == []


def test_the_device_side_imports_only_the_contract() -> None:
    """firmware/rs1fw shares the device contract (rs1contract), never the Workers' package."""
    firmware = ROOT / "firmware"
    reaching = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in firmware.rglob("*.py")
        for name in imports(path, {})
        if name == "rs1" or name.startswith("rs1.")
    ]
    assert reaching == []
    contract = [m for m, targets in graph().items() if m.startswith("rs1contract")]
    assert all(not t.startswith("rs1.") for m in contract for t in graph()[m])


WRITE = re.compile(r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)")
TABLE_OWNERS = {
    "devices": "devices/store.py",
    "device_ownership": "devices/ownership_store.py",
    "firmware": "ota/firmware_store.py",
    "ota_rollouts": "ota/rollout_store.py",
    "ota_device_status": "ota/rollout_store.py",
    "zone_configs": "zones/store.py",
    "telemetry_raw": "telemetry/store.py",
    "telemetry_dirty": "telemetry/store.py",
    "telemetry_hourly": "telemetry/store.py",
    "telemetry_archives": "telemetry/store.py",
    "alerts": "monitoring/store.py",
    "api_stats": "monitoring/store.py",
    "security_log": "monitoring/store.py",
    "audit_log": "audit/store.py",
    "audit_exports": "audit/store.py",
    "api_keys": "identity/api_key_store.py",
    "event_endpoints": "events/store.py",
    "events": "events/store.py",
    "event_deliveries": "events/store.py",
    "event_attempts": "events/store.py",
    "device_tags": "devices/tags_store.py",
}
# The device's zone-sync columns (config_version, config_rejected_*; migration 0006) sit on
# its devices row but belong to the zone configs, whose store alone writes them.
# Outbound events are inserted by the outbox, in the batch of the change that emits them
# (rs1.outbox sits below every store that emits); the events store delivers them.
SHARED_ROWS = {
    ("zones/store.py", "devices"),
    ("outbox/store.py", "events"),
    ("outbox/store.py", "event_deliveries"),
}


def test_every_table_is_written_by_its_own_store_only() -> None:
    created = set()
    for sql in (ROOT / "migrations").glob("*.sql"):
        created |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql.read_text()))
    assert created == TABLE_OWNERS.keys()
    strays = [
        f"{store}: {table}"
        for path in PACKAGE.rglob("*store.py")
        for store in [str(path.relative_to(PACKAGE))]
        for _, text in code_strings(path)
        for table in WRITE.findall(text)
        if table in created  # (a CTE's name is not a table)
        and TABLE_OWNERS[table] != store
        and (store, table) not in SHARED_ROWS
    ]
    assert strays == []
