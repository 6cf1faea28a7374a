"""Counters with EMQX's names: per action (emqx_resource_metrics), per rule (emqx_rule_engine)
and per node (emqx_metrics, emqx_access_control, emqx_authz).

Only what this broker can count is counted; the other names EMQX returns are present as 0
so a reader sees EMQX's shape.
"""

from collections import Counter
from typing import Any

# emqx_bridge.hrl ?METRICS (what GET /actions/:id/metrics returns), plus the two retried.*
# counters emqx_resource_metrics keeps but the API leaves out (see emqx/README.md).
ACTION_COUNTERS = (
    "matched", "success", "failed", "dropped", "dropped.expired", "dropped.queue_full",
    "dropped.other", "dropped.resource_not_found", "dropped.resource_stopped", "retried",
    "retried.success", "retried.failed", "late_reply", "received",
)  # fmt: skip
RULE_COUNTERS = (
    "matched", "passed", "failed", "failed.exception", "failed.no_result", "actions.total",
    "actions.success", "actions.failed", "actions.failed.out_of_service",
    "actions.failed.unknown", "actions.discarded",
)  # fmt: skip
NODE_COUNTERS = (
    "authentication.success", "authentication.success.anonymous", "authentication.failure",
    "authorization.allow", "authorization.deny", "authorization.cache_hit",
    "authorization.cache_miss", "authorization.superuser", "authorization.matched.allow",
    "authorization.matched.deny", "authorization.nomatch", "client.connected",
    "client.disconnected", "client.authenticate", "client.authorize", "messages.received",
    "messages.dropped", "messages.dropped.no_subscribers", "packets.connack.auth_error",
    "packets.publish.auth_error", "actions.executed",
)  # fmt: skip
RATES = {"rate": 0.0, "rate_last5m": 0.0, "rate_max": 0.0}  # not measured locally
RULE_RATES = {"matched.rate": 0.0, "matched.rate.max": 0.0, "matched.rate.last5m": 0.0}


class Counters:
    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names
        self._counts: Counter[str] = Counter()

    def inc(self, *names: str) -> None:
        for name in names:
            self._counts[name] += 1

    def get(self, name: str) -> int:
        return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        extra = sorted(set(self._counts) - set(self._names))
        return {name: self._counts[name] for name in (*self._names, *extra)}


class ActionMetrics:
    """One action's counters, gauges (set by its buffer workers) and rs1's reply tally."""

    def __init__(self) -> None:
        self.counters = Counters(ACTION_COUNTERS)
        self.replies: Counter[str] = Counter()  # rs1-only: every attempt's answer
        self.lost_at_shutdown = 0  # rs1-only: EMQX's memory buffer loses these uncounted

    def inc(self, *names: str) -> None:
        self.counters.inc(*names)

    def dropped(self, why: str) -> None:
        # emqx_resource_metrics: every dropped.* also bumps `dropped`.
        self.counters.inc("dropped", f"dropped.{why}")

    def as_json(self, inflight: int, queuing: int, queuing_bytes: int) -> dict[str, Any]:
        gauges = {"inflight": inflight, "queuing": queuing, "queuing_bytes": queuing_bytes}
        return {**self.counters.snapshot(), **gauges, **RATES}

    def rs1(self) -> dict[str, Any]:
        return {
            "replies": dict(sorted(self.replies.items())),
            "lost_at_shutdown": self.lost_at_shutdown,
        }


def rule_json(counters: Counters) -> dict[str, Any]:
    return {**counters.snapshot(), **RULE_RATES}


class MetricsRegistry:
    """Everything the metrics endpoints and the ledger's final line read."""

    def __init__(self, actions: list[str], rules: list[str]) -> None:
        self.actions = {name: ActionMetrics() for name in actions}
        self.rules = {rule_id: Counters(RULE_COUNTERS) for rule_id in rules}
        self.node = Counters(NODE_COUNTERS)
