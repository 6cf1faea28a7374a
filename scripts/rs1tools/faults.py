"""Client of the local host's fault injection (scripts/local_runtime/faults.mjs).

The host listens for it on 127.0.0.1:RS1_CONTROL_PORT when started with that variable
(LocalStack(faults=True), LocalSystem(faults=True)); RS1_FAULTS (the same JSON list) sets rules
at start. Local only: deployed Workers have no such thing.

    control = system.fault_control()
    control.set([FaultRule("d1", rate=1.0, binding="DB")])
    ...
    control.state()  # [{"target": "d1", ..., "seen": 3, "injected": 3, "active": True}]
    control.clear()
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx

Target = Literal["d1", "kv", "r2", "emqx_api", "route"]
RouteError = Literal["503", "reset"]


@dataclass(frozen=True)
class FaultRule:
    """One rule. `rate`: probability that an operation fails; `start_s`/`duration_s`: the window
    after the rule is set (None: forever); `latency_ms`: awaited before each operation it
    matches (with rate 0: pure latency); `binding` (d1/kv/r2) and `worker` (a Worker's name,
    e.g. "rs1-telemetry") narrow it; `paths`: route prefixes; `error`: the route's "503" or
    "reset"; `seed`: the same operations fail on every run."""

    target: Target
    rate: float = 0.0
    start_s: float = 0.0
    duration_s: float | None = None
    latency_ms: float = 0.0
    binding: str | None = None
    worker: str | None = None
    paths: Sequence[str] | None = None  # a list or a tuple
    error: RouteError | None = None
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The rule as the host takes it (unset optional fields left out)."""
        out = {k: v for k, v in asdict(self).items() if v is not None or k == "duration_s"}
        if self.paths is not None:
            out["paths"] = list(self.paths)
        return out


class FaultControlError(RuntimeError):
    pass


class FaultControl:
    """The host's /faults endpoint, from synchronous code."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, body: Any = None) -> list[dict[str, Any]]:
        content = None if body is None else json.dumps(body)
        response = httpx.request(
            method,
            f"{self.base_url}/faults",
            content=content,
            headers={"content-type": "application/json"},
            timeout=self.timeout,
        )
        if response.status_code != 200:
            raise FaultControlError(f"{method} /faults: {response.status_code} {response.text}")
        return response.json()["rules"]

    def set(self, rules: Sequence[FaultRule]) -> list[dict[str, Any]]:
        """Replace every rule (windows start now); returns the new state."""
        return self._call("PUT", [r.to_json() for r in rules])

    def clear(self) -> None:
        self._call("DELETE")

    def state(self) -> list[dict[str, Any]]:
        """Each rule with its counters: seen (operations it matched in its window), injected
        (faults it caused) and active (inside its window now)."""
        return self._call("GET")
