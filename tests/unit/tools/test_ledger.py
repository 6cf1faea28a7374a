"""The message ledger balances exactly when every message has a fate, and names each loss."""

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from rs1tools import ledger

FATES = ("stored", "denied", "dropped", "failed", "unacked", "transit")


@dataclass(frozen=True)
class Sent:
    device_id: str
    message_id: str
    copies: int
    acked_copies: int


def world(fates: list[tuple[str, int]]) -> tuple[dict[str, Sent], ledger.BrokerView, set[str]]:
    """A run where message i met fates[i] (with `extra` duplicate copies delivered too)."""
    sent: dict[str, Sent] = {}
    refusals: list[dict[str, object]] = []
    stored: set[str] = set()
    success = forwarded = 0
    for i, (fate, extra) in enumerate(fates):
        mid = f"m-{i}"
        copies = 1 + (extra if fate == "stored" else 0)
        acked = 0 if fate in ("unacked", "transit") else copies
        sent[mid] = Sent("dev", mid, copies, acked)
        topic = "opticworks/dev/telemetry/health"
        if fate == "stored":
            stored.add(ledger.key("dev", mid))
            success += copies
            forwarded += copies
        elif fate == "denied":
            refusals.append(
                {
                    "kind": "authz_deny",
                    "reason": "nomatch",
                    "topic": topic,
                    "message_id": mid,
                    "clientid": "dev",
                }
            )
        elif fate in ("dropped", "failed"):
            forwarded += 1
            kind = "action_dropped" if fate == "dropped" else "action_failed"
            refusals.append(
                {
                    "kind": kind,
                    "reason": "expired",
                    "topic": topic,
                    "message_id": mid,
                    "clientid": "dev",
                }
            )
        elif fate == "unacked":  # reached the broker, PUBACK lost with the link, then dropped
            forwarded += 1
            refusals.append(
                {
                    "kind": "action_dropped",
                    "reason": "shutdown",
                    "topic": topic,
                    "message_id": mid,
                    "clientid": "dev",
                }
            )
    dropped = sum(1 for r in refusals if r["kind"] != "authz_deny")
    action = {"matched": forwarded, "success": success, "failed": 0, "dropped": dropped}
    return sent, ledger.BrokerView(forwarded, action, {"200": success}, refusals), stored


def build(sent: dict[str, Sent], view: ledger.BrokerView, stored: set[str]) -> ledger.Ledger:
    duplicates = sum(r.copies - 1 for r in sent.values())
    acked = sum(r.acked_copies for r in sent.values())
    return ledger.build(sent.values(), duplicates, acked, 1, view, stored)


fates = st.lists(st.tuples(st.sampled_from(FATES), st.integers(0, 2)), max_size=40)


@given(fates)
def test_a_run_where_every_message_has_a_fate_balances(run: list[tuple[str, int]]) -> None:
    result = build(*world(run))
    assert result.unexplained == 0
    assert sum(result.fates.values()) == result.unique == len(run)
    assert result.stored == sum(1 for fate, _ in run if fate == "stored")
    assert result.sent == result.unique + result.duplicates


@given(fates.filter(lambda run: any(f == "stored" for f, _ in run)))
def test_an_acknowledged_message_missing_from_the_database_is_unexplained(
    run: list[tuple[str, int]],
) -> None:
    sent, view, stored = world(run)
    lost = sorted(stored)[0]
    result = build(sent, view, stored - {lost})
    assert result.unexplained >= 1
    assert lost in result.unexplained_ids


def test_copies_the_broker_took_but_cannot_account_for_are_unexplained() -> None:
    sent, view, stored = world([("stored", 0), ("stored", 0)])
    leaky = ledger.BrokerView(view.forwarded + 1, view.action, view.replies, view.refusals)
    assert build(sent, leaky, stored).unexplained >= 1


def test_the_report_names_each_line() -> None:
    text = "\n".join(build(*world([("stored", 1), ("denied", 0), ("dropped", 0)])).lines())
    for word in ("sent", "PUBACKed", "refused (authz)", "forwarded", "webhook answers",
                 "retried", "dropped", "stored", "UNEXPLAINED     0"):  # fmt: skip
        assert word in text


def test_a_refused_copy_does_not_explain_an_acknowledged_copy_that_was_lost() -> None:
    sent, view, stored = world([("denied", 0)])
    record = sent["m-0"]
    sent["m-0"] = Sent(record.device_id, record.message_id, 2, 2)  # a second copy, acked
    result = build(sent, view, stored)
    assert result.fates == {"unexplained": 1}
    assert result.unexplained >= 1


def test_messages_lost_in_transit_cannot_outnumber_the_copies_lost_in_transit() -> None:
    """An unacked copy that reached the broker, got a 2xx and is not in D1 is a loss, not a
    "never acknowledged"."""
    sent, view, _ = world([("stored", 0)])
    record = sent["m-0"]
    sent["m-0"] = Sent(record.device_id, record.message_id, 1, 0)  # its PUBACK was lost
    result = build(sent, view, set())  # ... and its row too
    assert result.fates == {ledger.NEVER_ACKED: 1}
    assert result.unexplained == 1
