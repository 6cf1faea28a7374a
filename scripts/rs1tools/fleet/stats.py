"""Fleet counters and the summary they add up to.

One event loop runs every device, so plain integer counters are safe without locks.
"""

from collections import Counter
from dataclasses import asdict, dataclass, field

from rs1tools.fleet.rng import seeded
from rs1tools.fleet.sent_log import SentLog

SAMPLES = 10_000


class Reservoir:
    """A bounded uniform sample (Algorithm R) for percentiles over long runs."""

    def __init__(self, size: int = SAMPLES) -> None:
        self.size = size
        self.seen = 0
        self.values: list[float] = []
        self._rng = seeded("rs1-fleet-reservoir")

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
            return
        slot = self._rng.randrange(self.seen)
        if slot < self.size:
            self.values[slot] = value

    def percentile(self, q: float) -> float:
        if not self.values:
            return 0.0
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def describe(self) -> dict[str, float]:
        top = max(self.values, default=0.0)
        return {
            "p50": round(self.percentile(0.5), 2),
            "p99": round(self.percentile(0.99), 2),
            "max": round(top, 2),
        }


@dataclass
class FleetStats:
    connect_attempts: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    # no CONNACK at all (broker unreachable, timeout, socket closed), by error
    connect_errors: Counter[str] = field(default_factory=Counter)
    # sessions that ended without our own DISCONNECT, by cause ("injected ..." = a fault)
    drops: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    power_cycles: int = 0
    messages_sent: int = 0
    messages_acked: int = 0
    duplicates_sent: int = 0
    config_applied: int = 0
    config_rejected: int = 0
    diag_answers: int = 0
    ota_triggers: int = 0
    foreign_publish: int = 0
    foreign_subscribe: int = 0
    foreign_subscribe_denied: int = 0
    foreign_subscribe_granted: int = 0  # a granted wildcard subscription is an ACL hole
    foreign_received: int = 0  # messages on topics that are not ours: also an ACL hole
    errors: int = 0
    ack_latency_ms: Reservoir = field(default_factory=Reservoir)
    loop_lag_ms: Reservoir = field(default_factory=Reservoir)
    sent_log: SentLog = field(default_factory=SentLog)  # telemetry copies, per message id


@dataclass
class FleetSummary:
    devices: int
    connected: int  # devices that connected at least once
    connected_now: int
    connect_attempts: int
    refused: int  # CONNACKs that refused a connect attempt
    refused_by_reason: dict[str, int]
    connect_errors: int
    connect_errors_by_reason: dict[str, int]
    drops: int
    drops_by_reason: dict[str, int]
    reconnects: int
    power_cycles: int
    messages_sent: int
    messages_acked: int
    duplicates_sent: int
    # the telemetry ledger (SentLog.summary): qos, sent, unique, duplicates, acked, unacked;
    # at QoS 0 nothing is acknowledged, so acked is 0 and every copy is unacked
    telemetry: dict[str, int]
    config_acks: dict[str, int]
    diag_answers: int
    ota_triggers: int
    foreign_attempts: int  # publishes + subscriptions aimed outside the device's namespace
    foreign: dict[str, int]
    errors: int
    faults: dict[str, int]
    duration_s: float
    messages_per_s: float
    ack_latency_ms: dict[str, float]
    loop_lag_ms: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize(
    stats: FleetStats,
    devices: int,
    connected: int,
    connected_now: int,
    faults: dict[str, int],
    duration_s: float,
    telemetry_qos: int = 1,
) -> FleetSummary:
    return FleetSummary(
        devices=devices,
        connected=connected,
        connected_now=connected_now,
        connect_attempts=stats.connect_attempts,
        refused=stats.refused.total(),
        refused_by_reason=dict(stats.refused),
        connect_errors=stats.connect_errors.total(),
        connect_errors_by_reason=dict(stats.connect_errors),
        drops=stats.drops.total(),
        drops_by_reason=dict(stats.drops),
        reconnects=stats.reconnects,
        power_cycles=stats.power_cycles,
        messages_sent=stats.messages_sent,
        messages_acked=stats.messages_acked,
        duplicates_sent=stats.duplicates_sent,
        telemetry=stats.sent_log.summary(telemetry_qos),
        config_acks={"applied": stats.config_applied, "rejected": stats.config_rejected},
        diag_answers=stats.diag_answers,
        ota_triggers=stats.ota_triggers,
        foreign_attempts=stats.foreign_publish + stats.foreign_subscribe,
        foreign={
            "publish": stats.foreign_publish,
            "subscribe": stats.foreign_subscribe,
            "subscribe_denied": stats.foreign_subscribe_denied,
            "subscribe_granted": stats.foreign_subscribe_granted,
            "received": stats.foreign_received,
        },
        errors=stats.errors,
        faults=faults,
        duration_s=round(duration_s, 2),
        messages_per_s=round(stats.messages_sent / duration_s, 1) if duration_s > 0 else 0.0,
        ack_latency_ms=stats.ack_latency_ms.describe(),
        loop_lag_ms=stats.loop_lag_ms.describe(),
    )
