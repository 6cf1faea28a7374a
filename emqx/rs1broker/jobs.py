"""A rule output on its way to one HTTP action, with what the ledger needs to name it."""

import json
from dataclasses import dataclass
from typing import Any

from rs1broker.settings import ActionSpec
from rs1broker.templates import from_output, render


@dataclass(frozen=True)
class ActionJob:
    action: ActionSpec
    body: bytes
    rule_id: str
    clientid: str
    topic: str  # the message's topic, or the event ("$events/client_connected")
    message_id: str | None


def job_for(
    action: ActionSpec,
    output: dict[str, Any],
    rule_id: str,
    clientid: str,
    topic: str,
    message_id: str | None = None,
) -> ActionJob:
    if action.body_template is None:
        body = json.dumps(output, separators=(",", ":"), ensure_ascii=False)
    else:
        body = render(action.body_template, from_output(output))
    return ActionJob(action, body.encode(), rule_id, clientid, topic, message_id)
