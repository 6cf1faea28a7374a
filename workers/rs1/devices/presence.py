"""Presence that converges however EMQX delivers its events.

Two max-registers per device — the newest connect time and the newest disconnect time seen —
and online = connected_at > disconnected_at. Taking a max is commutative, associative and
idempotent, so duplicated, late or shuffled events give the same final state as in-order
delivery; a stale disconnect (older than the reconnect) cannot mark a device offline.
A disconnect whose reason says a newer session replaced this one (takenover, discarded)
is not an offline signal at all: with EMQX its timestamp is later than the new connect.
"""

from dataclasses import dataclass, replace
from typing import Literal

SUPERSEDED_REASONS = frozenset({"takenover", "discarded"})

Kind = Literal["connected", "disconnected"]


@dataclass(frozen=True)
class PresenceEvent:
    kind: Kind
    at_ms: int
    reason: str = ""


@dataclass(frozen=True)
class Presence:
    connected_at: int = 0
    disconnected_at: int = 0

    @property
    def online(self) -> bool:
        return self.connected_at > self.disconnected_at


def counts_as_offline(event: PresenceEvent) -> bool:
    return event.kind == "disconnected" and event.reason not in SUPERSEDED_REASONS


def apply(state: Presence, event: PresenceEvent) -> Presence:
    if event.kind == "connected":
        return replace(state, connected_at=max(state.connected_at, event.at_ms))
    if counts_as_offline(event):
        return replace(state, disconnected_at=max(state.disconnected_at, event.at_ms))
    return state
