"""Where the ledger's figures come from: the fleet's sent log, the broker (its EMQX metrics API
and its ledger tap, over every life of the process) and the telemetry rows in D1."""

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rs1broker.config_file import SECRET_NAMES
from rs1broker.settings import BrokerSettings, RuleSpec, load_settings
from rs1broker.topics import matches

from rs1tools import ledger
from rs1tools.fleet import Fleet
from rs1tools.localstack import d1_bindings, local_d1_query

TELEMETRY_FILTER = "opticworks/+/telemetry/#"


@dataclass(frozen=True)
class TelemetryRoute:
    """The rule that forwards telemetry and its (one) HTTP action, as emqx.conf says."""

    rule_id: str
    action: str

    @classmethod
    def from_settings(cls, settings: BrokerSettings | None = None) -> "TelemetryRoute":
        # Only the rules are read: the secrets the render needs may be any placeholder.
        shown = {name: "unused" for name in SECRET_NAMES}
        rules: tuple[RuleSpec, ...] = (settings or load_settings(env=shown)).rules
        rule = next(r for r in rules if r.source == TELEMETRY_FILTER)
        return cls(rule.rule_id, rule.actions[0])


def _metrics(document: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = document.get("metrics", document)
    return inner if isinstance(inner, Mapping) else {}


class BrokerMetrics:
    def __init__(self, api_url: str, api_key: str) -> None:
        key, _, secret = api_key.partition(":")
        self._http = httpx.Client(base_url=api_url, auth=(key, secret), timeout=10)

    def close(self) -> None:
        self._http.close()

    def action(self, name: str) -> dict[str, Any]:
        response = self._http.get(f"/api/v5/actions/{name}/metrics")
        response.raise_for_status()
        return response.json()

    def rule(self, rule_id: str) -> dict[str, Any]:
        response = self._http.get(f"/api/v5/rules/{rule_id}/metrics")
        response.raise_for_status()
        return response.json()

    def node(self) -> dict[str, Any]:
        """EMQX's /api/v5/metrics answers a list of per-node objects; we have one node."""
        response = self._http.get("/api/v5/metrics")
        response.raise_for_status()
        body = response.json()
        return body[0] if isinstance(body, list) and body else {}


@dataclass(frozen=True)
class Mark:
    """The broker's figures at one moment: a ledger taken later counts only what came after
    (a shared system, as in the integration tests, has other publishers before)."""

    view: ledger.BrokerView
    tap_offset: int


def _tap_lines(path: Path, offset: int = 0) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = []
    with path.open("rb") as tap:
        tap.seek(offset)
        text = tap.read().decode(errors="replace")
    for raw in text.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # a line cut by a kill mid-write
    return lines


def _add(total: dict[str, int], counters: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = counters.get(name, 0)
        total[name] = total.get(name, 0) + (value if isinstance(value, int) else 0)


def _replies(document: Mapping[str, Any]) -> Mapping[str, int]:
    rs1 = document.get("rs1", {})
    return rs1.get("replies", {}) if isinstance(rs1, Mapping) else {}


def _own_telemetry(line: Mapping[str, Any]) -> bool:
    """A tap line about a device's telemetry on its own topic (a forged publish on another
    device's topic is an ACL probe, not a message the device sent for itself)."""
    topic = str(line.get("topic", ""))
    if line.get("kind") == "metrics" or not matches(TELEMETRY_FILTER, topic):
        return False
    return topic.split("/")[1] == line.get("clientid")


GAUGES = ("inflight", "queuing")  # what the broker holds now: never subtracted


def _minus(now: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {k: v if k in GAUGES else v - before.get(k, 0) for k, v in now.items()}


def mark(metrics: BrokerMetrics, tap_file: Path, route: TelemetryRoute) -> Mark:
    offset = tap_file.stat().st_size if tap_file.exists() else 0
    return Mark(broker_view(metrics, tap_file, route), offset)


def broker_view(
    metrics: BrokerMetrics | None,
    tap_file: Path,
    route: TelemetryRoute,
    since: Mark | None = None,
) -> ledger.BrokerView:
    """Counters of earlier broker lives come from the tap's final "metrics" lines; the live
    broker's from its API (None: the broker is stopped, every life ended with its line)."""
    lines = _tap_lines(tap_file)
    lives = [line for line in lines if line.get("kind") == "metrics"]
    documents = [
        (
            life.get("actions", {}).get(route.action, {}),
            life.get("rules", {}).get(route.rule_id, {}),
        )
        for life in lives
    ]
    if metrics is not None:
        documents.append((metrics.action(route.action), metrics.rule(route.rule_id)))
    action: dict[str, int] = {}
    replies: dict[str, int] = {}
    forwarded = 0
    for action_doc, rule_doc in documents:
        _add(action, _metrics(action_doc), ledger.ACTION_COUNTERS)
        _add(replies, _replies(action_doc), tuple(_replies(action_doc)))
        forwarded += int(_metrics(rule_doc).get("matched", 0))
    if since is None:
        refusals = [line for line in lines if _own_telemetry(line)]
        return ledger.BrokerView(forwarded, action, replies, refusals)
    before = since.view
    refusals = [line for line in _tap_lines(tap_file, since.tap_offset) if _own_telemetry(line)]
    return ledger.BrokerView(
        forwarded - before.forwarded,
        _minus(action, before.action),
        _minus(replies, before.replies),
        refusals,
    )


def stored_ids(state_dir: Path, worker_vars: Mapping[str, str] | None = None) -> set[str]:
    """Keys (ledger.key) of the telemetry rows, over every shard."""
    keys: set[str] = set()
    for binding in d1_bindings(worker_vars):
        sql = "SELECT device_id, message_id FROM telemetry_raw"
        rows = local_d1_query(state_dir, sql, binding)
        keys.update(ledger.key(str(r["device_id"]), str(r["message_id"])) for r in rows)
    return keys


def settle(
    metrics: BrokerMetrics, route: TelemetryRoute, rows: Callable[[], int], within_s: float = 90
) -> bool:
    """Wait until the broker holds nothing for the telemetry action and the stored row count
    holds still across two reads (the ingest queue delivers in batches up to 1 s apart)."""
    deadline = time.monotonic() + within_s
    last = -1
    while time.monotonic() < deadline:
        counters = _metrics(metrics.action(route.action))
        busy = int(counters.get("inflight", 0)) + int(counters.get("queuing", 0))
        now = rows()
        if not busy and now == last:
            return True
        last = now
        time.sleep(2.0)
    return False


def _last_good(rows: Callable[[], int]) -> Callable[[], int]:
    """The row count, or the last one read when a read fails (a storage fault under test)."""
    last = [-1]

    def read() -> int:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):  # e.g. a 503 body
            last[0] = rows()
        return last[0]

    return read


async def take(
    fleet: Fleet,
    metrics: BrokerMetrics,
    tap_file: Path,
    state_dirs: Sequence[Path],
    rows: Callable[[], int],
    since: Mark | None = None,
) -> ledger.Ledger:
    """Stop the fleet, let the broker and the ingest queue drain, then balance the ledger
    (stored ids from every D1 the Workers used: a restore drill switches them)."""
    await fleet.stop()
    route = TelemetryRoute.from_settings()
    await asyncio.to_thread(settle, metrics, route, _last_good(rows))
    view = await asyncio.to_thread(broker_view, metrics, tap_file, route, since)
    stored: set[str] = set()
    for state in state_dirs:
        stored |= await asyncio.to_thread(stored_ids, state)
    log = fleet.sent_log
    qos = fleet.config.telemetry_qos
    acked = log.acked if qos else None
    return ledger.build(log.records(), log.duplicates, acked, qos, view, stored)
