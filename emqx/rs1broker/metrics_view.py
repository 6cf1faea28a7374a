"""The metrics as EMQX's API shapes them (and as the ledger's last line carries them).

GET /api/v5/actions/:id/metrics (emqx_bridge_v2_api.erl format_metrics :1435-1476):
    {"id", "metrics": {...}, "node_metrics": [{"node", "metrics": {...}}], "rs1": {...}}
GET /api/v5/rules/:id/metrics (emqx_rule_engine_api.erl :505-518, :685-731): same shape.
GET /api/v5/metrics (emqx_mgmt_api_metrics.erl :54-106): [{"node", name: count, ...}], or
one map with ?aggregate=true.
"""

from typing import Any, Protocol

from rs1broker.metrics import MetricsRegistry, rule_json


class ActionGauges(Protocol):
    def action_metrics(self, name: str) -> dict[str, object] | None: ...


class MetricsView:
    def __init__(self, registry: MetricsRegistry, actions: ActionGauges | None, node: str) -> None:
        self._registry = registry
        self._actions = actions
        self._node = node

    def action(self, name: str) -> dict[str, Any] | None:
        if name not in self._registry.actions:
            return None
        metrics = self._actions.action_metrics(name) if self._actions else None
        if metrics is None:
            metrics = self._registry.actions[name].as_json(0, 0, 0)
        return {
            "id": name,
            "metrics": metrics,
            "node_metrics": [{"node": self._node, "metrics": metrics}],
            # rs1-only, not in EMQX: every attempt's answer, and jobs lost at shutdown.
            "rs1": self._registry.actions[name].rs1(),
        }

    def rule(self, rule_id: str) -> dict[str, Any] | None:
        counters = self._registry.rules.get(rule_id)
        if counters is None:
            return None
        metrics = rule_json(counters)
        return {
            "id": rule_id,
            "metrics": metrics,
            "node_metrics": [{"node": self._node, "metrics": metrics}],
        }

    def node(self) -> dict[str, Any]:
        return self._registry.node.snapshot()

    def final(self) -> dict[str, Any]:
        """The ledger's closing `metrics` line: this broker life's counters."""
        actions = {name: self.action(name) for name in self._registry.actions}
        return {
            "actions": {n: {**a["metrics"], "rs1": a["rs1"]} for n, a in actions.items() if a},
            "rules": {r: rule_json(c) for r, c in self._registry.rules.items()},
            "node": self.node(),
        }
