"""Rules: which accepted publishes and client events go to which HTTP actions.

Called from the broker's per-client path, so nothing here waits: outputs are built and
handed to the ActionDispatcher. Rule counters follow emqx_rule_runtime: `matched` when the
FROM matches, `passed` when the SELECT yields an output (always, for our `SELECT *`).
"""

from collections.abc import Sequence
from typing import Any

from rs1broker import rule_outputs
from rs1broker.actions import ActionDispatcher
from rs1broker.client_info import ClientInfo, PublishedMessage, now_ms
from rs1broker.jobs import job_for
from rs1broker.ledger import message_id_of
from rs1broker.metrics import MetricsRegistry
from rs1broker.rule_sql import EVENT_TOPICS
from rs1broker.settings import ActionSpec, RuleSpec
from rs1broker.topics import matches

CONNECTED = "$events/client_connected"
DISCONNECTED = "$events/client_disconnected"


class RuleEngine:
    def __init__(
        self,
        rules: Sequence[RuleSpec],
        actions: dict[str, ActionSpec],
        dispatcher: ActionDispatcher,
        node: str,
        metrics: MetricsRegistry,
    ) -> None:
        self._rules = tuple(rules)
        self._actions = actions
        self._dispatcher = dispatcher
        self._node = node
        self._metrics = metrics

    def on_publish(self, msg: PublishedMessage) -> None:
        for rule in self._rules:
            if rule.source in EVENT_TOPICS or not matches(rule.source, msg.topic):
                continue
            output = rule_outputs.message_publish(msg, self._node, rule.rule_id, now_ms())
            self._submit(rule, msg.clientid, output, msg.topic, message_id_of(msg.payload))

    def on_connected(self, client: ClientInfo) -> None:
        for rule in self._rules_for(CONNECTED):
            output = rule_outputs.client_connected(client, self._node, rule.rule_id, now_ms())
            self._submit(rule, client.clientid, output, CONNECTED)

    def on_disconnected(self, client: ClientInfo, reason: str, at: int) -> None:
        for rule in self._rules_for(DISCONNECTED):
            output = rule_outputs.client_disconnected(
                client, reason, at, self._node, rule.rule_id, now_ms()
            )
            self._submit(rule, client.clientid, output, DISCONNECTED)

    def _rules_for(self, source: str) -> list[RuleSpec]:
        return [rule for rule in self._rules if rule.source == source]

    def _submit(
        self,
        rule: RuleSpec,
        clientid: str,
        output: dict[str, Any],
        topic: str,
        message_id: str | None = None,
    ) -> None:
        self._metrics.rules[rule.rule_id].inc("matched", "passed")
        for name in rule.actions:
            job = job_for(self._actions[name], output, rule.rule_id, clientid, topic, message_id)
            self._dispatcher.submit(job)
