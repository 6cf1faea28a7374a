"""The layout rules of `workers/`, checked on the source: where SQL may live, which layer may
import which, no import cycles, handlers that never authenticate themselves."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from helpers import ROOT

WORKERS = ROOT / "workers"
PACKAGE = WORKERS / "rs1"
SQL = re.compile(r"\b(SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)")

# Lowest first. A module may import its own layer and those below, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    # values, ports and plumbing: no records, no HTTP routes
    (
        "rs1.text", "rs1.timefmt", "rs1.errors", "rs1.validation", "rs1.logs", "rs1.settings",
        "rs1.storage", "rs1.identity", "rs1.http.errors", "rs1.http.messages", "rs1contract",
    ),
    # the records (stores) and the domain
    (
        "rs1.services", "rs1.devices", "rs1.mqtt", "rs1.ota", "rs1.telemetry", "rs1.zones",
        "rs1.monitoring", "rs1.security_log", "rs1.live", "rs1.backups", "rs1.emqx",
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


def test_sql_lives_only_in_store_modules() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in PACKAGE.rglob("*.py")
        if not path.name.endswith("store.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if SQL.search(line)
    ]
    assert outside == []


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


def test_the_import_graph_has_no_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
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
