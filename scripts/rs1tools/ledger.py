"""The telemetry message ledger: every message a fleet run sent, from device to database.

Two balances, both exact:
- copies (what the broker counts): sent = reached the broker + lost in transit;
  reached = refused by authorization + forwarded by the rule; forwarded = 2xx + failed at once
  (a non-retried answer) + dropped (after the retry budget, by EMQX's `dropped.*` reason)
  + still queued. Lost in transit can only be copies the broker never acknowledged.
- unique messages (what the database holds): each message id has exactly one fate: stored,
  refused, dropped or failed (the broker's ledger tap names the message), never acknowledged
  (its link died before PUBACK, or QoS 0), or else *unexplained*.

`unexplained` adds both imbalances; a run loses nothing unexplained when it is 0.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# Broker counters summed over its lives (a restart starts EMQX's metrics at zero).
ACTION_COUNTERS = ("matched", "success", "failed", "dropped", "retried", "inflight", "queuing")
NEVER_ACKED = "never acknowledged (link lost before PUBACK)"
QOS0_UNCONFIRMED = "QoS 0: the device never learns"


class SentRecord(Protocol):
    """What the fleet knows of one message id (rs1tools.fleet.sent_log)."""

    @property
    def device_id(self) -> str: ...

    @property
    def message_id(self) -> str: ...

    @property
    def copies(self) -> int: ...

    @property
    def acked_copies(self) -> int: ...


def key(device_id: str, message_id: str) -> str:
    """A message's identity: rows are keyed by (device_id, message_id), so is the ledger."""
    return f"{device_id}/{message_id}"


@dataclass(frozen=True)
class BrokerView:
    """What the broker reports for the telemetry rule and its action, over all its lives."""

    forwarded: int  # the rule's `matched`
    action: dict[str, int]  # ACTION_COUNTERS, summed
    replies: dict[str, int]  # rs1 extension: every attempt's answer, by status or error
    refusals: list[dict[str, Any]]  # ledger-tap lines for telemetry topics: denied / dropped


@dataclass
class Ledger:
    qos: int
    sent: int
    unique: int
    duplicates: int
    acked: int | None  # None for QoS 0: there is no PUBACK
    reached: int
    lost_in_transit: int
    refused: dict[str, int]  # copies denied by authorization, by reason
    forwarded: int
    replies: dict[str, int]
    retried: int
    delivered: int  # 2xx
    failed: dict[str, int]  # copies answered with a status EMQX does not retry, by reason
    dropped: dict[str, int]  # copies dropped after the retry budget, by reason
    queued: int  # still inflight or queuing in the broker when the ledger was taken
    stored: int  # unique ids with a row
    fates: dict[str, int]  # unique ids by fate
    unexplained: int
    unexplained_ids: list[str] = field(default_factory=list)  # a sample, for the report

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        acked = "n/a (QoS 0)" if self.acked is None else f"{self.acked}"
        fates = ", ".join(f"{k} {v}" for k, v in sorted(self.fates.items()))
        return [
            f"message ledger (telemetry, QoS {self.qos})",
            f"  sent            {self.sent} copies = {self.unique} unique"
            f" + {self.duplicates} deliberate duplicates",
            f"  PUBACKed        {acked}",
            f"  reached broker  {self.reached} (lost in transit {self.lost_in_transit})",
            f"  refused (authz) {sum(self.refused.values())} {dict(self.refused)}",
            f"  forwarded       {self.forwarded} by the rule",
            f"  webhook answers {dict(sorted(self.replies.items()))}, retried {self.retried}",
            f"  delivered (2xx) {self.delivered}; failed {sum(self.failed.values())}"
            f" {dict(self.failed)}; dropped {sum(self.dropped.values())} {dict(self.dropped)};"
            f" still queued {self.queued}",
            f"  stored          {self.stored} rows ({self.delivered - self.stored} delivered"
            " copies were duplicates absorbed by (device_id, message_id))"
            if self.delivered >= self.stored
            else f"  stored          {self.stored} rows",
            f"  unique ids      {self.unique}: {fates}",
            f"  UNEXPLAINED     {self.unexplained}"
            + (f" e.g. {self.unexplained_ids[:5]}" if self.unexplained_ids else ""),
        ]


def _fate(
    ident: str, record: SentRecord, stored: set[str], tapped: Mapping[str, str], qos: int
) -> str:
    if ident in stored:
        return "stored"
    if ident in tapped:
        return tapped[ident]
    if qos == 0:
        return QOS0_UNCONFIRMED
    if record.acked_copies == 0:
        return NEVER_ACKED
    return "unexplained"


def _tap_reasons(
    refusals: Iterable[Mapping[str, Any]], records: Mapping[str, SentRecord]
) -> dict[str, str]:
    """message key → why the broker refused or lost its copies (the first said), for the
    messages whose every acknowledged copy the broker's tap accounts for: one copy refused
    does not explain another that was acknowledged and then lost."""
    reasons: dict[str, str] = {}
    lines: Counter[str] = Counter()
    for line in refusals:
        message_id = line.get("message_id")
        if isinstance(message_id, str):
            ident = key(str(line.get("clientid")), message_id)
            lines[ident] += 1
            reasons.setdefault(ident, f"{line.get('kind')}: {line.get('reason')}")
    return {
        ident: why
        for ident, why in reasons.items()
        if ident in records and lines[ident] >= max(1, records[ident].acked_copies)
    }


def _counted(refusals: Iterable[Mapping[str, Any]], kind: str) -> dict[str, int]:
    return dict(Counter(str(r.get("reason")) for r in refusals if r.get("kind") == kind))


def build(
    sent: Iterable[SentRecord],
    duplicates: int,
    acked: int | None,
    qos: int,
    broker: BrokerView,
    stored: set[str],
) -> Ledger:
    records = {key(r.device_id, r.message_id): r for r in sent}
    copies = sum(r.copies for r in records.values())
    refused = _counted(broker.refusals, "authz_deny")
    reached = sum(refused.values()) + broker.forwarded
    failed = _counted(broker.refusals, "action_failed")
    dropped = _counted(broker.refusals, "action_dropped")
    queued = broker.action.get("inflight", 0) + broker.action.get("queuing", 0)
    delivered = broker.action.get("success", 0)
    tapped = _tap_reasons(broker.refusals, records)
    fates: Counter[str] = Counter()
    unexplained_ids = []
    for ident, record in records.items():
        fate = _fate(ident, record, stored, tapped, qos)
        fates[fate] += 1
        if fate == "unexplained":
            unexplained_ids.append(ident)
    unacked = copies - (acked if acked is not None else 0)
    lost = copies - reached
    # Copies the broker took but cannot account for, and acknowledged copies it never saw.
    imbalance = abs(
        broker.forwarded - delivered - sum(failed.values()) - sum(dropped.values()) - queued
    )
    never_seen = max(0, lost - unacked) if qos else 0
    # Messages explained as lost on the way can be no more than the copies lost on the way.
    in_transit = fates[NEVER_ACKED] + fates[QOS0_UNCONFIRMED]
    over_explained = max(0, in_transit - max(0, lost))
    return Ledger(
        qos=qos,
        sent=copies,
        unique=len(records),
        duplicates=duplicates,
        acked=acked if qos else None,
        reached=reached,
        lost_in_transit=lost,
        refused=refused,
        forwarded=broker.forwarded,
        replies=broker.replies,
        retried=broker.action.get("retried", 0),
        delivered=delivered,
        failed=failed,
        dropped=dropped,
        queued=queued,
        stored=len(stored & records.keys()),
        fates=dict(fates),
        unexplained=fates["unexplained"] + imbalance + never_seen + over_explained + max(0, -lost),
        unexplained_ids=unexplained_ids[:20],
    )
